"""Benchmark of imports, end to end: upload over HTTP, the job on a real worker, tasks visible.

    .venv/bin/python bench/import.py --tasks 1000000 --format jsonl

Generates ``--tasks`` tasks of realistic text (200 to 400 characters, seeded) as a JSONL or CSV
file, then starts what production runs: gunicorn serving the application and a Celery worker,
against the database that ``DATABASE_URL`` names (a fresh database is created on that server for
the run and dropped after it), or, when it is unset, an embedded SQLite database in a temporary
folder. With ``REDIS_URL`` set the worker takes its jobs from Redis, otherwise from the embedded
filesystem broker. The file is uploaded as an API client would (a raw body, streamed), then the
import's job is followed until it succeeds. The clock runs from the first byte of the upload to
the moment the tasks are visible.

Peak RSS is the kernel's high-water mark (VmHWM) of each web process and of the worker.

The last line is JSON: ``tasks_per_s`` (tasks / (upload + job)), ``peak_rss_mb`` (the larger of
web and worker), and the details.
"""

import argparse
import http.client
import json
import random
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.harness import (  # noqa: E402
    children,
    cpu_seconds,
    manage,
    peak_rss_mb,
    run_in_work_folder,
    start,
)
from bench.textgen import sentence  # noqa: E402


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=100_000, help="tasks to import")
    parser.add_argument("--format", choices=("jsonl", "csv"), default="jsonl")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--web-workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--keep", action="store_true", help="keep the work folder and database")
    return parser.parse_args()


def write_file(path: Path, count: int, fmt: str, seed: int) -> int:
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8", newline="") as out:
        if fmt == "csv":
            out.write("external_id,priority,text\n")
        for i in range(count):
            text = sentence(rng)
            if fmt == "jsonl":
                out.write(json.dumps({"text": text, "external_id": f"t{i}", "priority": i % 5}))
                out.write("\n")
            else:
                out.write(f'"t{i}",{i % 5},"{text}"\n')
    return path.stat().st_size


SETUP = """
import json
from accounts.models import User
from audit.services import Actor
from projects import services, tokens
admin = User.objects.create_user("bench@lab.test", "bench-password-123", is_staff=True)
actor = Actor.system(user=admin)
project = services.project_create(actor=actor, name="Bench", label_schema={
    "labels": [{"name": "positive"}, {"name": "negative"}]})
token = tokens.token_create(actor=actor, name="bench", scope="full")
print(json.dumps({"project": str(project.pk), "token": token.plaintext}))
"""


def upload(port: int, token: str, project: str, path: Path, fmt: str) -> dict[str, Any]:
    query = urlencode({"file_name": f"bench.{fmt}"})
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    size = path.stat().st_size
    conn.putrequest("POST", f"/api/v1/projects/{project}/imports/?{query}")
    conn.putheader("Authorization", f"Bearer {token}")
    conn.putheader("Content-Type", "application/octet-stream")
    conn.putheader("Content-Length", str(size))
    conn.endheaders()
    with path.open("rb") as source:
        while chunk := source.read(1 << 20):
            conn.send(chunk)
    response = conn.getresponse()
    body = json.loads(response.read())
    if response.status != 202:
        raise SystemExit(f"upload answered {response.status}: {body}")
    return body


def job_state(port: int, token: str, job_id: str) -> dict[str, Any]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.request("GET", f"/api/v1/jobs/{job_id}", headers={"Authorization": f"Bearer {token}"})
    response = conn.getresponse()
    return json.loads(response.read())


def run(
    args: argparse.Namespace, env: dict[str, str], work: Path, processes: list[Any]
) -> dict[str, Any]:
    data = work / f"tasks.{args.format}"
    size = write_file(data, args.tasks, args.format, args.seed)
    manage(env, "migrate", "--noinput", "-v0")
    setup = json.loads(manage(env, "shell", "-c", SETUP).strip().splitlines()[-1])
    web, worker, port = start(env, args.web_workers, work / "server.log")
    processes += [web, worker]
    worker_cpu = cpu_seconds(worker.pid)
    started = time.monotonic()
    answer = upload(port, setup["token"], setup["project"], data, args.format)
    uploaded = time.monotonic()
    while True:
        state = job_state(port, setup["token"], answer["job"]["id"])
        if state["state"] in ("succeeded", "failed", "cancelled"):
            break
        time.sleep(0.1)
    finished = time.monotonic()
    worker_cpu = cpu_seconds(worker.pid) - worker_cpu
    web_rss = max(peak_rss_mb(pid) for pid in [web.pid, *children(web.pid)])
    worker_rss = peak_rss_mb(worker.pid)
    if state["state"] != "succeeded":
        raise SystemExit(f"import {state['state']}: {json.dumps(state)[:2000]}")
    if state["counts"]["tasks_created"] != args.tasks:
        raise SystemExit(f"{state['counts']['tasks_created']} tasks created, not {args.tasks}")
    total = finished - started
    print(
        f"{args.tasks:,} tasks ({size / 1e6:.0f} MB of {args.format}) in {total:.1f} s: "
        f"upload {uploaded - started:.1f} s, job {finished - uploaded:.1f} s",
        file=sys.stderr,
    )
    return {
        "tasks": args.tasks,
        "format": args.format,
        "database": "postgresql" if "DATABASE_URL" in env else "sqlite",
        "file_mb": round(size / 1e6, 1),
        "tasks_per_s": round(args.tasks / total),
        "seconds": round(total, 2),
        "upload_s": round(uploaded - started, 2),
        "job_s": round(finished - uploaded, 2),
        # CPU the worker used: about job_s when its one thread of Python is the bottleneck.
        "worker_cpu_s": round(worker_cpu, 2),
        "peak_rss_mb": round(max(web_rss, worker_rss)),
        "web_peak_rss_mb": round(web_rss),
        "worker_peak_rss_mb": round(worker_rss),
    }


def main() -> None:
    run_in_work_folder("import", parse(), run)


if __name__ == "__main__":
    main()
