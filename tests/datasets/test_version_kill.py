"""A worker killed with SIGKILL in the middle of building a dataset version, then started again:
the version ends succeeded with a whole, verified file, and was never marked ready before.

Real processes, as in test_kill_safety: the suite's database, the broker, a Celery worker.
"""

import json
import os
import signal
import subprocess
import sys
import time
from urllib.parse import urlparse

import pytest

from tests.datasets.test_kill_safety import _KEPT, ROOT, Database, _worker

ROWS = 60_000

pytestmark = pytest.mark.slow

SETUP = """
import io, json
from accounts.models import User
from audit.services import Actor
from bench.export import seed_annotations
from datasets import imports
from datasets.exports import versions
from projects import services
admin = User.objects.create_user("kill@lab.test", "kill-password-123", is_staff=True)
actor = Actor.system(user=admin)
project = services.project_create(actor=actor, name="Kill", label_schema={
    "labels": [{"name": "a"}, {"name": "b"}]})
rows = "".join(json.dumps({"text": f"row {i} " + "x" * (i %% 50)}) + "\\n" for i in range(%d))
options = imports.import_options(project, file_name="kill.jsonl")
imports.import_create(actor=actor, project=project, options=options,
                      source=io.BytesIO(rows.encode()))
seed_annotations(project, annotators=3)
from celery import current_app
current_app.conf.task_always_eager = False  # the version's job goes to the broker, for the worker
version = versions.version_create(actor=actor, project=project, format_name="jsonl")
print(json.dumps({"version": str(version.pk)}))
"""

CHECK = """
import hashlib, json
from datasets.exports import manifest
from datasets.models import DatasetVersion
from vault import config
version = DatasetVersion.objects.get(pk="%s")
digest, size, lines = hashlib.sha256(), 0, 0
for chunk in config.blob_store().read(project_id=version.project_id, name=version.blob):
    digest.update(chunk)
    size += len(chunk)
    lines += chunk.count(b"\\n")
body = json.loads(version.manifest)
print(json.dumps({
    "signed": manifest.manifest_verify(version.manifest, version.signature, version.key_id),
    "sha256_ok": digest.hexdigest() == version.sha256 == body["file"]["sha256"],
    "size_ok": size == version.size == body["file"]["size"],
    "lines": lines, "rows": version.row_count}))
"""


def test_a_worker_killed_mid_build_never_leaves_a_broken_version(tmp_path):
    database = Database(tmp_path)
    env = {k: os.environ[k] for k in _KEPT if k in os.environ}
    env.update(
        LABELKEEP_VAR_DIR=str(tmp_path / "var"),
        PYTHONUNBUFFERED="1",
        LABELKEEP_JOB_STALE_SECONDS="3",
        LABELKEEP_EXPORT_PROCESSES="2",
        **database.env,
    )
    if os.environ.get("REDIS_URL"):
        env["REDIS_URL"] = urlparse(os.environ["REDIS_URL"])._replace(path="/14").geturl()
        import redis

        redis.Redis.from_url(env["REDIS_URL"]).flushdb()
    log = tmp_path / "worker.log"
    try:
        subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
                       cwd=ROOT, env=env, check=True, capture_output=True)  # fmt: skip
        setup_env = dict(env, CELERY_TASK_ALWAYS_EAGER="true")
        made = subprocess.run(
            [sys.executable, "manage.py", "shell", "-c", SETUP % ROWS],
            cwd=ROOT, env=setup_env, check=True, capture_output=True, text=True,
        )  # fmt: skip
        version_id = json.loads(made.stdout.strip().splitlines()[-1])["version"]
        key = version_id if database.url else version_id.replace("-", "")

        def state() -> tuple[str, int, int, str]:
            return database.query(
                "SELECT state, rows_written, attempts, sha256 FROM datasets_datasetversion "
                "WHERE id = ?",
                key,
            )[0]

        assert state()[0] == "queued"  # eager only for the set-up: the version waits
        worker = _worker(env, log)
        deadline = time.monotonic() + 120
        while state()[1] < ROWS // 4:
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            assert worker.poll() is None, log.read_text()[-3000:]
            time.sleep(0.02)
        helpers = _children(worker.pid)
        if database.url:  # PostgreSQL: the build forks helpers (datasets/exports/parallel.py)
            assert len(helpers) == 2, helpers
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=30)
        deadline = time.monotonic() + 10
        while any(_alive(pid) for pid in helpers):  # they die with the job
            assert time.monotonic() < deadline, [_alive(pid) for pid in helpers]
            time.sleep(0.05)
        killed_at = state()
        assert killed_at[0] == "running", killed_at
        assert killed_at[3] == "", "a version was given a checksum before it was whole"

        worker = _worker(env, log)
        try:
            deadline = time.monotonic() + 180
            while state()[0] == "running":
                assert time.monotonic() < deadline, log.read_text()[-3000:]
                assert worker.poll() is None, log.read_text()[-3000:]
                time.sleep(0.2)
        finally:
            worker.terminate()
            worker.wait(timeout=30)
        final, written, attempts, _sha = state()
        assert (final, written, attempts) == ("succeeded", ROWS, 2)
        checked = subprocess.run(
            [sys.executable, "manage.py", "shell", "-c", CHECK % version_id],
            cwd=ROOT, env=env, check=True, capture_output=True, text=True,
        )  # fmt: skip
        figures = json.loads(checked.stdout.strip().splitlines()[-1])
        assert figures == {
            "signed": True, "sha256_ok": True, "size_ok": True, "lines": ROWS, "rows": ROWS,
        }  # fmt: skip
    finally:
        database.drop()


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as listed:
            return [int(child) for child in listed.read().split()]
    except OSError:
        return []


def _alive(pid: int) -> bool:
    """Running, as opposed to gone or a zombie (dead, waiting for a parent to reap it)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False
