#!/usr/bin/env bash
# Embedded mode: one Celery worker with the periodic scheduler (filesystem broker under var/)
# beside gunicorn.
# Ctrl+C stops both.
set -euo pipefail
host=${1:-127.0.0.1}
port=${2:-8000}
workers=${3:-2}
cd "$(dirname "$0")/.."
bin=.venv/bin

# --beat runs the periodic jobs (audit checkpoints and shipping) inside this one worker.
$bin/celery -A config worker --beat --schedule "${LABELKEEP_VAR_DIR:-var}/celerybeat-schedule" \
    --loglevel=WARNING --concurrency=1 --without-gossip --without-mingle --without-heartbeat &
worker=$!
trap 'kill $worker 2>/dev/null; wait $worker 2>/dev/null' EXIT INT TERM

echo "Labelkeep is serving on http://$host:$port/ (Ctrl+C to stop)"
$bin/gunicorn config.wsgi --bind "$host:$port" --workers "$workers" --timeout 600 --access-logfile - \
    --log-level warning
