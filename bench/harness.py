"""What the end-to-end benchmarks share: a fresh database, manage.py, gunicorn, /proc figures.

A benchmark runs what production runs (gunicorn, optionally a Celery worker) against a database
made for the run: a new one on the PostgreSQL server that ``DATABASE_URL`` names, dropped after
it, or an embedded SQLite database in the run's work folder when ``DATABASE_URL`` is unset.
"""

import argparse
import importlib.metadata
import json
import os
import re
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
BIN = Path(PYTHON).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def fresh_database(url: str) -> tuple[str, str]:
    """A new database on the server that ``url`` names: (its URL, its name)."""
    import psycopg

    parsed = urlparse(url)
    name = f"labelkeep_bench_{os.getpid()}"
    admin = parsed._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name}")
        conn.execute(f"CREATE DATABASE {name}")
    return parsed._replace(path=f"/{name}").geturl(), name


def drop_database(url: str, name: str) -> None:
    import psycopg

    admin = urlparse(url)._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def bench_env(work: Path) -> tuple[dict[str, str], str, str]:
    """The environment the run's processes get: (env, the caller's DATABASE_URL, the fresh
    database's name, empty for SQLite). Jobs go to a real worker unless a caller says so."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LABELKEEP_")}
    env.pop("CELERY_TASK_ALWAYS_EAGER", None)
    env.update(LABELKEEP_VAR_DIR=str(work / "var"), PYTHONUNBUFFERED="1")
    env.setdefault("SECRET_KEY", "bench-" + os.urandom(24).hex())
    database_url = os.environ.get("DATABASE_URL", "")
    db_name = ""
    if database_url:
        env["DATABASE_URL"], db_name = fresh_database(database_url)
    return env, database_url, db_name


def teardown(
    processes: list[Any], *, database_url: str, db_name: str, work: Path, keep: bool
) -> None:
    """Stop the run's processes; drop its database and work folder unless asked to keep them."""
    for process in processes:
        process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
    if db_name and not keep:
        drop_database(database_url, db_name)
    if not keep:
        subprocess.run(["rm", "-rf", str(work)], check=False)


# A benchmark's run: (its options, the environment for its processes, its work folder, the
# list where it puts the processes it starts) -> its figures.
Run = Callable[[argparse.Namespace, dict[str, str], Path, list[Any]], dict[str, Any]]


def run_in_work_folder(name: str, args: argparse.Namespace, run: Run) -> None:
    """Run a benchmark in a new work folder, against a fresh database (``bench_env``), and
    print its figures as one JSON object, the last line; then stop the processes it started
    and remove the folder and the database, unless ``args.keep``."""
    work = Path(tempfile.mkdtemp(prefix=f"labelkeep-bench-{name}-"))
    env, database_url, db_name = bench_env(work)
    processes: list[Any] = []
    try:
        print(json.dumps(run(args, env, work, processes)))
    finally:
        teardown(processes, database_url=database_url, db_name=db_name, work=work, keep=args.keep)


def session_for(user: Any) -> str:
    """Inside Django (a benchmark's set-up, run by ``manage.py shell``): a session signed in as
    ``user``, as signing in makes one, in the session store the servers use; its key."""
    from importlib import import_module

    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY

    session = import_module(settings.SESSION_ENGINE).SessionStore()
    session[SESSION_KEY] = user._meta.pk.value_to_string(user)
    session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    return str(session.session_key)


def manage(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [PYTHON, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode:
        raise SystemExit(f"manage.py {args[0]} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def peak_rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def cpu_seconds(pid: int) -> float:
    """User + system CPU time the process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children_cpu_seconds(pid: int) -> float:
    """User + system CPU time of the process's children that it has waited for."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[13]) + int(fields[14])) / os.sysconf("SC_CLK_TCK")


class TreeMemory:
    """Samples a process and its children (helpers it forks) until stopped: the children's
    highest peak RSS, and the highest sum of the tree's proportional set size (PSS: each page
    shared by n processes counts 1/n, so forked helpers' shared pages are not counted twice)."""

    def __init__(self, pid: int, every: float = 0.05) -> None:
        self.pid = pid
        self.children_peak_kb = 0
        self.total_pss_kb = 0
        self.children_seen = 0
        self._seen: set[int] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(every,), daemon=True)
        self._thread.start()

    def _run(self, every: float) -> None:
        while not self._stop.wait(every):
            kids = children(self.pid)
            self._seen.update(kids)
            total = 0
            for pid in [self.pid, *kids]:
                total += _kb(pid, "smaps_rollup", "Pss:")
                if pid != self.pid:
                    peak = _kb(pid, "status", "VmHWM:")
                    self.children_peak_kb = max(self.children_peak_kb, peak)
            self.total_pss_kb = max(self.total_pss_kb, total)

    def stop(self) -> dict[str, Any]:
        self._stop.set()
        self._thread.join()
        return {
            "helpers": len(self._seen),
            "helpers_peak_rss_mb": round(self.children_peak_kb / 1024),
            "peak_pss_total_mb": round(self.total_pss_kb / 1024),
        }


def _kb(pid: int, name: str, key: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/{name}").read_text().splitlines():
            if line.startswith(key):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


def _pinned(path: Path) -> set[str]:
    """The distributions a locked requirements file pins, by normalized name."""
    names = set()
    for line in path.read_text().splitlines():
        name, sep, _version = line.partition("==")
        if sep and not line.startswith((" ", "#")):
            names.add(re.sub(r"[-_.]+", "-", name.strip()).lower())
    return names


def development_only_modules() -> list[str]:
    """Top-level modules that only the development requirements install (pandas, numpy,
    pytest, ...): a deployed installation (requirements/base.txt) does not have them."""
    extra = _pinned(ROOT / "requirements" / "dev.txt") - _pinned(ROOT / "requirements" / "base.txt")
    hidden = []
    for module, dists in importlib.metadata.packages_distributions().items():
        names = {re.sub(r"[-_.]+", "-", dist).lower() for dist in dists}
        local = (ROOT / module).exists() or (ROOT / f"{module}.py").exists()
        if names <= extra and not local and module not in sys.stdlib_module_names:
            hidden.append(module)
    return sorted(hidden)


# The servers' sitecustomize: development-only modules cannot be imported.
_DEPLOYED = """# Written by the benchmarks' harness for the servers it starts: the packages
# that only the development requirements install are not importable here, as in a deployment.
import sys

_HIDDEN = frozenset({hidden!r})


class _NotDeployed:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in _HIDDEN:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
        return None


sys.meta_path.insert(0, _NotDeployed())
"""


def deployed_env(env: dict[str, str], work: Path) -> dict[str, str]:
    """``env`` for a process that should see only what a deployment installs: pyarrow, for
    one, imports pandas and numpy when they are there (about 60 MB of a worker), and a
    deployed worker has neither."""
    folder = work / "deployed"
    folder.mkdir(exist_ok=True)
    (folder / "sitecustomize.py").write_text(_DEPLOYED.format(hidden=development_only_modules()))
    path = [str(folder), *filter(None, [env.get("PYTHONPATH")])]
    return dict(env, PYTHONPATH=os.pathsep.join(path))


def start(
    env: dict[str, str], web_workers: int, log_path: Path, *, worker: bool = True
) -> tuple[Any, Any, int]:
    """gunicorn and (unless ``worker`` is false: None) a Celery worker, as production runs
    them (without the development-only packages: ``deployed_env``); returns once both
    listen."""
    env = deployed_env(env, log_path.parent)
    port = free_port()
    log = log_path.open("w")
    web = subprocess.Popen(
        [str(BIN / "gunicorn"), "config.wsgi", "--bind", f"127.0.0.1:{port}",
         "--workers", str(web_workers), "--timeout", "600", "--log-level", "warning"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    celery = None
    if worker:
        celery = subprocess.Popen(
            [str(BIN / "celery"), "-A", "config", "worker", "--pool=solo", "--loglevel=WARNING",
             "--without-gossip", "--without-mingle", "--without-heartbeat"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    deadline = time.monotonic() + 60
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if time.monotonic() > deadline:
                raise SystemExit("gunicorn did not start") from None
            time.sleep(0.2)
    if worker:
        time.sleep(2)  # let the worker connect to its broker
    return web, celery, port


def machine_jiffies() -> tuple[int, int]:
    """(busy, total) CPU time of the whole machine so far, in clock ticks."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


def own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def tree_cpu(pid: int) -> float:
    """CPU time of a process and its children (gunicorn's master and workers)."""
    return sum(cpu_seconds(p) for p in [pid, *children(pid)])


class DatabaseCpu:
    """CPU time of the PostgreSQL backends serving one database, when the server runs on this
    machine (None otherwise). Sampled from pg_stat_activity and /proc twice a second, because
    Django's connections are replaced as they age and a backend's time leaves with it."""

    def __init__(self, url: str, name: str) -> None:
        import psycopg

        admin = urlparse(url)._replace(path="/postgres").geturl()
        self.conn = psycopg.connect(admin, autocommit=True)
        self.name = name
        self.start: dict[int, float] = {}
        self.last: dict[int, float] = {}
        self.local = True
        self.stopped = threading.Event()
        self._sample(first=True)
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _sample(self, *, first: bool = False) -> None:
        query = "SELECT pid FROM pg_stat_activity WHERE datname = %s"
        for (pid,) in self.conn.execute(query, [self.name]).fetchall():
            try:
                cpu = cpu_seconds(pid)
            except OSError:
                self.local = False  # the server runs elsewhere: /proc knows nothing of it
                continue
            # A backend first seen after the start began during the measurement.
            self.start.setdefault(pid, cpu if first else 0.0)
            self.last[pid] = cpu

    def _run(self) -> None:
        while not self.stopped.wait(0.5):
            self._sample()

    def stop(self) -> float | None:
        self.stopped.set()
        self.thread.join()
        self._sample()
        self.conn.close()
        if not self.local:
            return None
        return sum(self.last[pid] - self.start[pid] for pid in self.last)


class CpuMeter:
    """Where the machine's CPU went during a measurement: this client (all its threads), the
    web processes, the database's backends (PostgreSQL on this machine), and everything else
    (including whatever else shares the machine)."""

    def __init__(self, web_pid: int, database: tuple[str, str] | None) -> None:
        self.web_pid = web_pid
        self.client, self.web = own_cpu(), tree_cpu(web_pid)
        self.busy, self.total = machine_jiffies()
        self.database = DatabaseCpu(*database) if database else None

    def read(self, wall: float, cycles: int) -> dict[str, Any]:
        database = self.database.stop() if self.database else None
        busy, total = machine_jiffies()
        cores = os.cpu_count() or 1
        machine = (busy - self.busy) / max(1, total - self.total) * cores * wall
        client, web = own_cpu() - self.client, tree_cpu(self.web_pid) - self.web
        per_cycle = 1000 / max(1, cycles)
        return {
            "cores": cores,
            "machine_busy_share": round(machine / (cores * wall), 2),
            "client_cpu_s": round(client, 2),
            "web_cpu_s": round(web, 2),
            "database_cpu_s": None if database is None else round(database, 2),
            "other_cpu_s": round(machine - client - web - (database or 0), 2),
            "web_cpu_ms_per_cycle": round(web * per_cycle, 2),
            "database_cpu_ms_per_cycle": None
            if database is None
            else round(database * per_cycle, 2),
        }
