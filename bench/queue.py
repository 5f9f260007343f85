"""Benchmark of the work queue over HTTP: annotators taking tasks (next) and answering (submit).

    .venv/bin/python bench/queue.py --tasks 1000000 --annotators 16 --seconds 60

Fills a classification project (labels positive/negative, overlap 1, the other settings at
their defaults) with ``--tasks`` tasks through the real import pipeline, run in-process, then
starts gunicorn as production runs it, against the database that ``DATABASE_URL`` names (a
fresh database on that server, dropped after the run unless ``--keep``) or, when it is unset,
an embedded SQLite database. Every annotator is a project member signed in with a real session
(the session cookie, and a CSRF cookie echoed in ``X-CSRFToken`` as the workspace sends it),
with its own ``http.client`` connection on loopback (gunicorn's sync workers close it after
each response; it reopens by itself).

First every annotator runs 20 cycles at once, not counted (each web process warms up). Phase
one: a single annotator runs ``--cycles`` cycles of next + submit; p50 and p99 of each request.
Phase many: ``--annotators`` annotators, a thread each, cycle for ``--seconds`` seconds; cycles
per second, p50/p99 of each request, errors (any other status than 200/201/204, e.g. a 429 once
an annotator passes ``THROTTLE_USER``). For both, the CPU used per cycle by the web processes and
by the PostgreSQL backends of the run's database (when the server runs on this machine), the
client's own CPU and the machine's busy share.
Then duplicates: a task handed to two annotators (or again to one who answered it) as the
clients saw it, and, from the database, annotations holding a slot beyond the task's overlap,
(task, annotator) pairs twice, and tasks whose free slots disagree with their annotations. All
must be 0. ``--analyze`` refreshes the planner's statistics after the warm-up, as autovacuum
does some time after a large import (the import itself analyzes the task table).
``--history N`` gives every annotator N answers in the project before the run, on tasks taken
from the end of the queue, as after some days of work: a lookup that grows with an
annotator's answers shows there. ``--vacuum-every S`` (PostgreSQL) VACUUMs the task and
annotation tables every S seconds during the phases, from a connection of its own, as an
autovacuum set to keep up with the queue would (the benchmarks' server runs with autovacuum
off); its CPU counts as the database's. ``--hold-snapshot`` (PostgreSQL) keeps a transaction
open through phase many, as a long report, a backup taken from the primary or a session left
idle in a transaction would: it has read a row, so PostgreSQL may remove no row version that
phase many makes dead.

The last line is JSON: phase one's ``next_p50_ms``, ``next_p99_ms``, ``submit_p50_ms`` and
``submit_p99_ms``, phase many's ``cycles_per_s``, ``duplicates`` (their total), and the details
(``warmup``, ``one``, ``many``, ``duplicates_detail``).
"""

import importlib.util
import sys
import sysconfig
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _be_the_standard_queue() -> None:
    """Put the standard library's ``queue`` where this module is being imported.

    Any script run from bench/ has this folder first on sys.path, so its own ``import queue``
    (psycopg, multiprocessing and concurrent.futures make one) would find this file. The import
    system hands the importer whatever ``sys.modules["queue"]`` holds once this file has run;
    the rest of this file then only imports and defines what nobody uses.
    """
    spec = importlib.util.spec_from_file_location(
        "queue", Path(sysconfig.get_path("stdlib")) / "queue.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["queue"] = module
    spec.loader.exec_module(module)


if __name__ == "queue":
    _be_the_standard_queue()
else:
    # Run as a script: keep this folder off sys.path, for the same reason.
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]

import argparse  # noqa: E402
import http.client  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import random  # noqa: E402
import secrets  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from collections import Counter  # noqa: E402
from collections.abc import Callable, Iterator  # noqa: E402
from contextlib import contextmanager  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from typing import Any  # noqa: E402
from urllib.parse import urlparse  # noqa: E402

ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from bench.harness import CpuMeter, manage, run_in_work_folder, start  # noqa: E402
from bench.textgen import sentence  # noqa: E402

# Cycles every annotator runs, all at once, before anything is measured: each web process's
# first requests pay for lazy imports and the URL resolver (about a second of CPU), and one
# annotator alone may leave a process unwarmed (gunicorn's sync workers share one socket).
WARMUP_CYCLES = 20
ANSWER = json.dumps({"result": {"labels": ["positive"]}, "time_spent": 1.0}).encode()
NEXT = json.dumps({}).encode()


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=10_000, help="tasks in the project")
    parser.add_argument("--annotators", type=int, default=16, help="concurrent annotators")
    parser.add_argument("--seconds", type=float, default=20, help="length of phase many")
    parser.add_argument("--cycles", type=int, default=1000, help="cycles of phase one")
    parser.add_argument("--web-workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--analyze",
        action="store_true",
        help="refresh the planner's statistics after the warm-up (as autovacuum does in time)",
    )
    parser.add_argument(
        "--vacuum-every",
        type=float,
        default=0,
        help="PostgreSQL: VACUUM the task and annotation tables every this many seconds during "
        "the phases, as an autovacuum tuned for the queue would (0: never)",
    )
    parser.add_argument(
        "--hold-snapshot",
        action="store_true",
        help="PostgreSQL: keep a transaction (repeatable read, one row read) open through phase "
        "many, as a long report or a backup from the primary would",
    )
    parser.add_argument(
        "--history",
        type=int,
        default=0,
        help="answers every annotator has given in the project before the run (taken from the "
        "end of the queue), as after a few days of work",
    )
    parser.add_argument("--keep", action="store_true", help="keep the work folder and database")
    return parser.parse_args()


def write_tasks(path: Path, count: int, seed: int) -> None:
    # Texts of 200 to 400 characters from a pool (generating a million apart takes longer than
    # importing them), each made unique by its number: the import skips repeated data.
    rng = random.Random(seed)
    pool = [sentence(rng) for _ in range(1024)]
    with path.open("w", encoding="utf-8") as out:
        for i in range(count):
            text = f"{pool[i % len(pool)]} ({i})"
            out.write(json.dumps({"text": text, "external_id": f"t{i}", "priority": i % 5}))
            out.write("\n")


SETUP = """
import json, os, time
from django.conf import settings
from accounts.models import User
from bench.harness import session_for
from audit.services import Actor
from datasets import imports
from datasets.models import ImportState
from projects import services
from projects.models import Role
admin = User.objects.create_user("bench@lab.test", None, is_staff=True)
actor = Actor.system(user=admin)
project = services.project_create(actor=actor, name="Queue bench", overlap=1, label_schema={
    "labels": [{"name": "positive"}, {"name": "negative"}]})
sessions, people = [], []
for n in range(int(os.environ["BENCH_ANNOTATORS"]) + 1):
    user = User.objects.create_user(f"annotator{n}@lab.test", None)
    services.member_add(actor=actor, project=project, user=user, role=Role.ANNOTATOR)
    sessions.append(session_for(user))
    people.append(user)
started = time.monotonic()
options = imports.import_options(project, file_name="tasks.jsonl")
with open(os.environ["BENCH_TASKS_FILE"], "rb") as source:
    imp = imports.import_create(actor=actor, project=project, options=options, source=source)
imp.refresh_from_db()  # the job ran on commit, inline (CELERY_TASK_ALWAYS_EAGER)
assert imp.state == ImportState.SUCCEEDED, imp.problems
fill_s = time.monotonic() - started
history = int(os.environ["BENCH_HISTORY"])
if history:
    # Each annotator's past answers, on the tasks at the end of the queue (its front, where
    # claims walk, stays as the import left it): completed tasks with a submitted annotation.
    from django.db import transaction
    from django.utils import timezone
    from labeling.models import Annotation, AnnotationStatus, Task, TaskState
    now = timezone.now()
    last = Task.objects.filter(project=project).order_by("priority", "-seq")
    taken = list(last.values_list("pk", flat=True)[: history * len(people)])
    assert len(taken) == history * len(people), "--history needs more --tasks"
    with transaction.atomic():
        for start in range(0, len(taken), 5000):
            chunk = taken[start : start + 5000]
            Task.objects.filter(pk__in=chunk).update(
                open_slots=0, annotation_count=1, state=TaskState.COMPLETE)
            Annotation.objects.bulk_create([
                Annotation(project=project, task_id=pk, annotator=people[(start + i) % len(people)],
                    status=AnnotationStatus.SUBMITTED, revision=1, time_spent=1.0,
                    created_at=now, updated_at=now, submitted_at=now)
                for i, pk in enumerate(chunk)], batch_size=1000)
print(json.dumps({"project": str(project.pk), "sessions": sessions,
    "fill_s": fill_s, "tasks": imp.tasks_created,
    "session_cookie": settings.SESSION_COOKIE_NAME, "csrf_cookie": settings.CSRF_COOKIE_NAME}))
"""

ANALYZE = """
from django.db import connection
with connection.cursor() as cursor:
    cursor.execute("ANALYZE")
"""

CHECK = """
import json, os
from collections import Counter
from django.db.models import Count, Q
from labeling.models import Annotation, AnnotationStatus, Task
from projects.models import Project
project = Project.objects.get(pk=os.environ["BENCH_PROJECT"])
mine = Annotation.objects.filter(project=project)
holding = Q(status__in=[AnnotationStatus.LEASED, AnnotationStatus.SUBMITTED])
per_task = list(mine.values("task", "task__open_slots").annotate(held=Count("id", filter=holding)))
print(json.dumps({
    "beyond_overlap": sum(max(0, r["held"] - project.overlap) for r in per_task),
    "pairs_twice": mine.values("task", "annotator").annotate(n=Count("id")).filter(n__gt=1).count(),
    "slot_mismatches": sum(r["held"] + r["task__open_slots"] != project.overlap for r in per_task)
    + Task.objects.filter(project=project, is_gold=False).exclude(open_slots=project.overlap)
    .exclude(pk__in=mine.values("task")).count(),
    "annotations": dict(Counter(mine.values_list("status", flat=True))),
}))
"""


class Client:
    """One annotator's HTTP connection, signed in by session cookie, with the CSRF pair."""

    def __init__(self, port: int, project: str, session: str, setup: dict[str, Any]) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        self.project = project
        csrf = secrets.token_hex(16)  # 32 alphanumeric characters: a CSRF secret
        self.headers = {
            "Cookie": f"{setup['session_cookie']}={session}; {setup['csrf_cookie']}={csrf}",
            "X-CSRFToken": csrf,
            "Content-Type": "application/json",
        }

    def post(self, path: str, body: bytes) -> tuple[int, bytes, float]:
        """(status, body, seconds); a connection the server closed is opened again."""
        started = time.perf_counter()
        try:
            self.conn.request("POST", path, body=body, headers=self.headers)
            response = self.conn.getresponse()
            data = response.read()
        except (http.client.HTTPException, OSError):
            self.conn.close()
            return 0, b"", time.perf_counter() - started
        return response.status, data, time.perf_counter() - started

    def next(self) -> tuple[int, str | None, float]:
        status, body, took = self.post(f"/api/v1/projects/{self.project}/next", NEXT)
        task_id = json.loads(body)["task_id"] if status == 200 else None
        return status, task_id, took

    def submit(self, task_id: str) -> tuple[int, float]:
        path = f"/api/v1/projects/{self.project}/tasks/{task_id}/annotations/"
        status, _, took = self.post(path, ANSWER)
        return status, took


@dataclass
class Tally:
    """What one or more annotators' clients saw."""

    next_s: list[float] = field(default_factory=list)
    submit_s: list[float] = field(default_factory=list)
    cycles: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    exhausted: bool = False

    def add(self, other: "Tally") -> None:
        self.next_s += other.next_s
        self.submit_s += other.submit_s
        self.cycles += other.cycles
        self.errors += other.errors
        self.exhausted |= other.exhausted


class Handouts:
    """Every task the server handed out, and to whom: a second annotator is a duplicate, and
    so is the same annotator getting back a task they have submitted."""

    def __init__(self) -> None:
        self.owner: dict[str, int] = {}
        self.submitted: set[tuple[str, int]] = set()
        self.duplicates = 0
        self.lock = threading.Lock()

    def handed(self, task_id: str, who: int) -> None:
        with self.lock:
            owner = self.owner.setdefault(task_id, who)
            if owner != who or (task_id, who) in self.submitted:
                self.duplicates += 1

    def done(self, task_id: str, who: int) -> None:
        with self.lock:
            self.submitted.add((task_id, who))


def cycle(client: Client, who: int, tally: Tally, handouts: Handouts) -> bool:
    """One next + submit; False when nothing is left for this annotator."""
    status, task_id, took = client.next()
    if status == 204:
        tally.exhausted = True
        return False
    if task_id is None:
        tally.errors[f"next {status}"] += 1
        return True
    tally.next_s.append(took)
    handouts.handed(task_id, who)
    status, took = client.submit(task_id)
    if status != 201:
        tally.errors[f"submit {status}"] += 1
        return True
    tally.submit_s.append(took)
    handouts.done(task_id, who)
    tally.cycles += 1
    return True


def annotate(client: Client, who: int, until: float, tally: Tally, handouts: Handouts) -> None:
    while time.monotonic() < until and sum(tally.errors.values()) < 1000:
        if not cycle(client, who, tally, handouts):
            return


def ms(values: list[float], q: float) -> float | None:
    """The q-quantile by nearest rank, in milliseconds."""
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[max(0, math.ceil(q * len(ordered)) - 1)] * 1000, 2)


def figures(tally: Tally, wall: float) -> dict[str, Any]:
    return {
        "cycles": tally.cycles,
        "wall_s": round(wall, 2),
        "cycles_per_s": round(tally.cycles / wall, 1) if wall else None,
        "next_p50_ms": ms(tally.next_s, 0.5),
        "next_p99_ms": ms(tally.next_s, 0.99),
        "submit_p50_ms": ms(tally.submit_s, 0.5),
        "submit_p99_ms": ms(tally.submit_s, 0.99),
        "errors": dict(tally.errors),
        "exhausted": tally.exhausted,
    }


def warm_up(clients: list[Client], handouts: Handouts) -> dict[str, int]:
    """Every annotator runs WARMUP_CYCLES cycles, concurrently; the errors they met."""
    tallies = [Tally() for _ in clients]

    def warm(client: Client, who: int, tally: Tally) -> None:
        for _ in range(WARMUP_CYCLES):
            if not cycle(client, who, tally, handouts):
                return

    threads = [
        threading.Thread(target=warm, args=(c, who, t))
        for who, (c, t) in enumerate(zip(clients, tallies, strict=True))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    total = Tally()
    for tally in tallies:
        total.add(tally)
    return dict(total.errors)


def phase_one(
    client: Client, cycles: int, handouts: Handouts, meter: Callable[[], CpuMeter]
) -> dict[str, Any]:
    tally, cpu, started = Tally(), meter(), time.monotonic()
    for _ in range(cycles):
        if not cycle(client, 0, tally, handouts):
            break
    wall = time.monotonic() - started
    result = figures(tally, wall)
    result["cpu"] = cpu.read(wall, tally.cycles)
    return result


def phase_many(
    clients: list[Client], seconds: float, handouts: Handouts, meter: CpuMeter
) -> dict[str, Any]:
    tallies = [Tally() for _ in clients]
    started = time.monotonic()
    threads = [
        threading.Thread(target=annotate, args=(c, who, started + seconds, t, handouts))
        for who, (c, t) in enumerate(zip(clients, tallies, strict=True), start=1)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.monotonic() - started
    total = Tally()
    for tally in tallies:
        total.add(tally)
    return {**figures(total, wall), "cpu": meter.read(wall, total.cycles)}


def say(name: str, phase: dict[str, Any]) -> None:
    cpu = phase["cpu"]
    db_ms = cpu["database_cpu_ms_per_cycle"]
    database = "inside web (SQLite) or not measured" if db_ms is None else f"{db_ms} ms"
    print(
        f"{name}: {phase['cycles']} cycles in {phase['wall_s']} s ({phase['cycles_per_s']}/s), "
        f"next p50 {phase['next_p50_ms']} ms p99 {phase['next_p99_ms']} ms, "
        f"submit p50 {phase['submit_p50_ms']} ms p99 {phase['submit_p99_ms']} ms, "
        f"errors {phase['errors'] or 0}; CPU per cycle: web {cpu['web_cpu_ms_per_cycle']} ms, "
        f"database {database}; machine busy "
        f"{cpu['machine_busy_share']:.0%} (client {cpu['client_cpu_s']} s, "
        f"others {cpu['other_cpu_s']} s)",
        file=sys.stderr,
    )


def fill(args: argparse.Namespace, env: dict[str, str], work: Path) -> dict[str, Any]:
    """Migrate, create the project, its annotators and their sessions, import the tasks."""
    tasks_file = work / "tasks.jsonl"
    write_tasks(tasks_file, args.tasks, args.seed)
    manage(env, "migrate", "--noinput", "-v0")
    setup_env = dict(
        env,
        CELERY_TASK_ALWAYS_EAGER="true",
        BENCH_TASKS_FILE=str(tasks_file),
        BENCH_ANNOTATORS=str(args.annotators),
        BENCH_HISTORY=str(args.history),
    )
    setup: dict[str, Any] = json.loads(
        manage(setup_env, "shell", "-c", SETUP).strip().splitlines()[-1]
    )
    tasks_file.unlink()
    print(
        f"{setup['tasks']:,} tasks imported in {setup['fill_s']:.1f} s "
        f"({args.tasks / setup['fill_s']:,.0f} tasks/s)",
        file=sys.stderr,
    )
    return setup


class Vacuums:
    """VACUUMs the queue's two tables now and then from a thread with its own connection, as
    an autovacuum set to keep up with the queue would. Its backend is one of the run's
    database's, so its CPU is counted with the database's."""

    def __init__(self, url: str, every: float) -> None:
        self.url, self.every = url, every
        self.runs, self.seconds = 0, 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="vacuums", daemon=True)

    def __enter__(self) -> "Vacuums":
        if self.every > 0:
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def _run(self) -> None:
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as conn:
            while not self._stop.wait(self.every):
                started = time.monotonic()
                conn.execute("VACUUM labeling_task, labeling_annotation")
                self.seconds += time.monotonic() - started
                self.runs += 1

    def figures(self) -> dict[str, Any]:
        return {"every_s": self.every, "runs": self.runs, "seconds": round(self.seconds, 2)}


@contextmanager
def held_snapshot(url: str | None) -> Iterator[None]:
    """A transaction kept open meanwhile on its own connection (nothing if ``url`` is None)."""
    if url is None:
        yield
        return
    import psycopg

    with psycopg.connect(url) as conn:
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        conn.execute("SELECT id FROM labeling_task LIMIT 1").fetchall()
        yield
        conn.rollback()


def duplicates_check(env: dict[str, str], project: str, handouts: Handouts) -> dict[str, Any]:
    checked = manage(dict(env, BENCH_PROJECT=project), "shell", "-c", CHECK)
    found: dict[str, Any] = json.loads(checked.strip().splitlines()[-1])
    found["seen_by_clients"] = handouts.duplicates
    found["total"] = sum(
        found[k] for k in ("seen_by_clients", "beyond_overlap", "pairs_twice", "slot_mismatches")
    )
    print(f"duplicates: {found}", file=sys.stderr)
    return found


def run(
    args: argparse.Namespace, env: dict[str, str], work: Path, processes: list[Any]
) -> dict[str, Any]:
    setup = fill(args, env, work)
    web, _, port = start(env, args.web_workers, work / "server.log", worker=False)
    processes.append(web)
    url = env.get("DATABASE_URL")
    database = (url, urlparse(url).path.lstrip("/")) if url else None

    def meter() -> CpuMeter:
        return CpuMeter(web.pid, database)

    project, sessions, handouts = setup["project"], setup["sessions"], Handouts()
    first, *clients = [Client(port, project, key, setup) for key in sessions]
    if args.vacuum_every and not url:
        raise SystemExit("--vacuum-every needs PostgreSQL (DATABASE_URL)")
    if args.hold_snapshot and not url:
        raise SystemExit("--hold-snapshot needs PostgreSQL (DATABASE_URL)")
    with Vacuums(url or "", args.vacuum_every) as vacuums:
        warmup_errors = warm_up([first, *clients], handouts)
        if args.analyze:
            # After the warm-up, so that no table is analyzed empty: statistics saying the
            # annotation table has no rows (autovacuum would soon correct them, but this server
            # runs without it) made the planner read held leases through the project's lease
            # index, stepping over every lease the run had ended: the database's CPU per cycle
            # doubled at a million tasks (docs/performance.md).
            manage(env, "shell", "-c", ANALYZE)
        one = phase_one(first, args.cycles, handouts, meter)
        say("one annotator", one)
        with held_snapshot(url if args.hold_snapshot else None):
            many = phase_many(clients, args.seconds, handouts, meter())
        say(f"{args.annotators} annotators", many)
    if warmup_errors or one["errors"] or many["errors"]:
        log = (work / "server.log").read_text(errors="replace").splitlines()
        print("server log, last lines:", *log[-60:], sep="\n", file=sys.stderr)
    duplicates = duplicates_check(env, project, handouts)
    return {
        "next_p50_ms": one["next_p50_ms"],
        "next_p99_ms": one["next_p99_ms"],
        "submit_p50_ms": one["submit_p50_ms"],
        "submit_p99_ms": one["submit_p99_ms"],
        "cycles_per_s": many["cycles_per_s"],
        "duplicates": duplicates["total"],
        "tasks": args.tasks,
        "annotators": args.annotators,
        "history": args.history,
        "seconds": args.seconds,
        "cycles": args.cycles,
        "database": "postgresql" if url else "sqlite",
        "cache": "redis" if env.get("REDIS_URL") else "file",
        "web_workers": args.web_workers,
        "fill_s": round(setup["fill_s"], 2),
        "analyzed": args.analyze,
        "held_snapshot": args.hold_snapshot,
        "vacuums": vacuums.figures(),
        "warmup": {"cycles_each": WARMUP_CYCLES, "errors": warmup_errors},
        "one": one,
        "many": many,
        "duplicates_detail": duplicates,
    }


def main() -> None:
    run_in_work_folder("queue", parse(), run)


if __name__ == "__main__":
    main()
