"""A worker killed with SIGKILL in the middle of an import, then started again: the import
ends complete, with exactly one task per row, and no task was visible before it ended.

Real processes all the way: the database the suite runs on (a fresh database on the same
PostgreSQL server in CI, an SQLite file otherwise), the broker (Redis when REDIS_URL is set, the
embedded filesystem broker otherwise), and a Celery worker started as `make run` starts it.
"""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest

ROOT = Path(__file__).resolve().parents[2]
ROWS = 150_000
_KEPT = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SECRET_KEY")

pytestmark = pytest.mark.slow

SETUP = """
import io, json, random
from accounts.models import User
from audit.services import Actor
from bench.textgen import sentence
from datasets import imports
from projects import services
admin = User.objects.create_user("kill@lab.test", "kill-password-123", is_staff=True)
actor = Actor.system(user=admin)
project = services.project_create(actor=actor, name="Kill", label_schema={
    "labels": [{"name": "a"}, {"name": "b"}]})
rng = random.Random(3)
rows = "".join(
    json.dumps({"text": sentence(rng), "external_id": f"k{i}"}) + "\\n" for i in range(%d))
options = imports.import_options(project, file_name="kill.jsonl")
imp = imports.import_create(actor=actor, project=project, options=options,
                            source=io.BytesIO(rows.encode()))
print(json.dumps({"import": str(imp.pk), "project": str(project.pk)}))
"""


class Database:
    """The test's own database, read directly (no Django in this process for it)."""

    def __init__(self, tmp_path: Path) -> None:
        self.url = os.environ.get("DATABASE_URL", "")
        self.name = f"labelkeep_kill_{os.getpid()}"
        self.file = tmp_path / "var" / "labelkeep.sqlite3"
        if self.url:
            self._admin(f"DROP DATABASE IF EXISTS {self.name}", f"CREATE DATABASE {self.name}")

    def _admin(self, *statements: str) -> None:
        import psycopg

        admin = urlparse(self.url)._replace(path="/postgres").geturl()
        with psycopg.connect(admin, autocommit=True) as conn:
            for statement in statements:
                conn.execute(statement)

    @property
    def env(self) -> dict[str, str]:
        if not self.url:
            return {}
        return {"DATABASE_URL": urlparse(self.url)._replace(path=f"/{self.name}").geturl()}

    def query(self, sql: str, *params: object) -> list[tuple[Any, ...]]:
        if self.url:
            import psycopg

            with psycopg.connect(self.env["DATABASE_URL"], autocommit=True) as conn:
                return conn.execute(sql.replace("?", "%s"), params).fetchall()
        with sqlite3.connect(self.file, timeout=30) as conn:
            return conn.execute(sql, params).fetchall()

    def drop(self) -> None:
        if self.url:
            self._admin(f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)")


def _worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("a") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool=solo",
             "--loglevel=INFO", "--without-gossip", "--without-mingle", "--without-heartbeat"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip


def test_a_worker_killed_mid_import_leaves_nothing_half_done(tmp_path):
    database = Database(tmp_path)
    env = {k: os.environ[k] for k in _KEPT if k in os.environ}
    env.update(
        LABELKEEP_VAR_DIR=str(tmp_path / "var"),
        PYTHONUNBUFFERED="1",
        LABELKEEP_JOB_STALE_SECONDS="3",
        **database.env,
    )
    if os.environ.get("REDIS_URL"):
        # A database of its own on the server, emptied: no message of another test or run.
        env["REDIS_URL"] = urlparse(os.environ["REDIS_URL"])._replace(path="/13").geturl()
        import redis

        redis.Redis.from_url(env["REDIS_URL"]).flushdb()
    log = tmp_path / "worker.log"
    try:
        subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
                       cwd=ROOT, env=env, check=True, capture_output=True)  # fmt: skip
        made = subprocess.run(
            [sys.executable, "manage.py", "shell", "-c", SETUP % ROWS],
            cwd=ROOT, env=env, check=True, capture_output=True, text=True,
        )  # fmt: skip
        ids = json.loads(made.stdout.strip().splitlines()[-1])
        import_id = ids["import"].replace("-", "") if not database.url else ids["import"]
        project_id = ids["project"].replace("-", "") if not database.url else ids["project"]

        def state() -> tuple[str, int, int]:
            rows = database.query(
                "SELECT state, rows_read, attempts FROM datasets_import WHERE id = ?", import_id
            )
            return rows[0]

        def visible() -> int:
            return database.query(
                "SELECT COUNT(*) FROM labeling_task WHERE project_id = ? AND state = 'open'",
                project_id,
            )[0][0]

        worker = _worker(env, log)
        deadline = time.monotonic() + 120
        while state()[1] < ROWS // 4:
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            assert worker.poll() is None, log.read_text()[-3000:]
            time.sleep(0.05)
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=30)
        killed_at = state()
        assert killed_at[0] == "running", killed_at
        assert 0 < killed_at[1] < ROWS, killed_at
        assert visible() == 0, "tasks of an unfinished import were visible"

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
        final, rows_read, attempts = state()
        assert (final, rows_read, attempts) == ("succeeded", ROWS, 2)
        counts = database.query(
            "SELECT COUNT(*), COUNT(DISTINCT fingerprint), COUNT(DISTINCT seq) "
            "FROM labeling_task WHERE project_id = ?",
            project_id,
        )[0]
        assert tuple(counts) == (ROWS, ROWS, ROWS)
        assert visible() == ROWS
    finally:
        database.drop()
