"""Embedded mode runs background jobs on a real worker, with no broker server: kombu's
filesystem transport under var/. Checked end to end in fresh processes, as `make run` runs them.
"""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
_KEPT = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR")

pytestmark = pytest.mark.slow


def _embedded_env(var_dir: Path) -> dict[str, str]:
    env = {k: os.environ[k] for k in _KEPT if k in os.environ}
    return {**env, "LABELKEEP_VAR_DIR": str(var_dir), "PYTHONUNBUFFERED": "1"}


def _manage(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return done.stdout


def test_a_job_queued_by_the_web_side_runs_on_the_embedded_worker(tmp_path):
    env = _embedded_env(tmp_path / "var")
    _manage(env, "migrate", "--noinput", "-v0")
    _manage(env, "create_admin", "--email", "admin@lab.test")
    log = tmp_path / "worker.log"
    with log.open("w") as out:
        worker = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                "--pool=solo",
                "--loglevel=INFO",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        # The web side's service queues the job after commit and returns at once.
        _manage(
            env,
            "shell",
            "-c",
            (
                "from audit.services import Actor; from accounts import services; "
                "services.password_reset_request("
                "actor=Actor.system('test'), email='admin@lab.test')"
            ),
        )
        assert (tmp_path / "var" / "broker" / "queue").is_dir()
        deadline = time.monotonic() + 60
        while "Reset your Labelkeep password" not in log.read_text():
            assert time.monotonic() < deadline, log.read_text()[-2000:]
            assert worker.poll() is None, log.read_text()[-2000:]
            time.sleep(0.3)
    finally:
        worker.terminate()
        worker.wait(timeout=30)
    assert not (ROOT / "control").exists(), "the broker must keep its files under var/"
