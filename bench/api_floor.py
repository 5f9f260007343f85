"""What a cycle of the work queue's two requests costs before any of the work: the ceiling
that each layer of the request puts on ``bench/queue.py``'s cycles per second.

    .venv/bin/python bench/api_floor.py --annotators 16 --seconds 10 --rounds 3

Starts gunicorn as ``bench/queue.py`` does (the sync worker, ``--web-workers`` processes, the
product's settings and middleware) with the routes of ``bench/floor_urls.py``, where the two
requests of a cycle (``POST .../next`` answering a task id, then ``POST .../annotations/``
answering 201) are served at seven levels, each doing what the one before does and more:

- ``django``: Django and the product's middleware (CSRF checked, no user);
- ``session``: and the session's user (the session from the cache, the user's row);
- ``drf``: and Django REST framework as the API runs it, but for the throttles (its
  authentication, the signed-in permission, JSON in and out);
- ``throttle``: and the API's throttles (the per-user counter in the cache);
- ``gate``: and the permission gate (the project and the caller's role);
- ``audit``: and one audit event committed in its own transaction;
- ``work``: the real endpoints: a lease taken, the task unsealed and its read recorded; the
  answer checked, sealed and submitted, and recorded.

Every annotator is a member of one classification project with ``--tasks`` tasks, signed in
with a real session, a thread with its own connection, as in ``bench/queue.py``. The levels run
``--seconds`` each, one after another, ``--rounds`` times, so that a drift of the machine's
speed touches all of them alike. The per-user throttle is raised to 10,000,000 a minute (its
counter is still kept): at these rates the default (3,000) would refuse most requests.

The last line is JSON: per level, the median over rounds of cycles per second, with every
round's figures (cycles per second, web and database CPU per cycle in ms).
"""

import argparse
import http.client
import json
import secrets
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.harness import CpuMeter, bench_env, manage, start, teardown  # noqa: E402

LEVELS = ("django", "session", "drf", "throttle", "gate", "audit", "work")
ANSWER = json.dumps({"result": {"labels": ["positive"]}, "time_spent": 1.0}).encode()

SETUP = """
import json, os
from importlib import import_module
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from accounts.models import User
from audit.services import Actor
from datasets import imports
from datasets.models import ImportState
from projects import services
from projects.models import Role
admin = User.objects.create_user("bench@lab.test", None, is_staff=True)
actor = Actor.system(user=admin)
project = services.project_create(actor=actor, name="Floor bench", overlap=1, label_schema={
    "labels": [{"name": "positive"}, {"name": "negative"}]})
store = import_module(settings.SESSION_ENGINE).SessionStore
sessions = []
for n in range(int(os.environ["BENCH_ANNOTATORS"])):
    user = User.objects.create_user(f"annotator{n}@lab.test", None)
    services.member_add(actor=actor, project=project, user=user, role=Role.ANNOTATOR)
    session = store()
    session[SESSION_KEY] = user._meta.pk.value_to_string(user)
    session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    sessions.append(session.session_key)
options = imports.import_options(project, file_name="tasks.jsonl")
with open(os.environ["BENCH_TASKS_FILE"], "rb") as source:
    imp = imports.import_create(actor=actor, project=project, options=options, source=source)
imp.refresh_from_db()
assert imp.state == ImportState.SUCCEEDED, imp.problems
print(json.dumps({"project": str(project.pk), "sessions": sessions,
    "session_cookie": settings.SESSION_COOKIE_NAME, "csrf_cookie": settings.CSRF_COOKIE_NAME}))
"""


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--annotators", type=int, default=16, help="concurrent annotators")
    parser.add_argument("--seconds", type=float, default=10, help="length of each level's run")
    parser.add_argument("--rounds", type=int, default=3, help="runs of every level")
    parser.add_argument(
        "--tasks", type=int, default=50_000, help="tasks in the project (level work uses them)"
    )
    parser.add_argument("--web-workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument(
        "--levels", default=",".join(LEVELS), help=f"which levels, of {', '.join(LEVELS)}"
    )
    parser.add_argument("--keep", action="store_true", help="keep the work folder and database")
    args = parser.parse_args()
    unknown = set(args.levels.split(",")) - set(LEVELS)
    if unknown:
        parser.error(f"unknown levels: {', '.join(sorted(unknown))}")
    return args


class Client:
    """One annotator's connection, signed in by session cookie, with the CSRF pair."""

    def __init__(self, port: int, setup: dict[str, Any], session: str) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.project = setup["project"]
        csrf = secrets.token_hex(16)
        self.headers = {
            "Content-Type": "application/json",
            "Cookie": f"{setup['session_cookie']}={session}; {setup['csrf_cookie']}={csrf}",
            "X-CSRFToken": csrf,
        }

    def post(self, path: str, body: bytes) -> tuple[int, bytes]:
        try:
            self.conn.request("POST", path, body=body, headers=self.headers)
            response = self.conn.getresponse()
            return response.status, response.read()
        except (http.client.HTTPException, OSError):
            self.conn.close()  # gunicorn's sync worker closed it; the next request reopens
            return 0, b""

    def cycle(self, level: str) -> str | None:
        """One next + submit at ``level``; an error's description, or None."""
        base = f"/floor/{level}/api/v1/projects/{self.project}"
        status, body = self.post(f"{base}/next", b"{}")
        if status != 200:
            return f"next {status}"
        task = json.loads(body)["task_id"]
        status, _ = self.post(f"{base}/tasks/{task}/annotations/", ANSWER)
        return None if status == 201 else f"submit {status}"


def run_level(clients: list[Client], level: str, seconds: float, meter: CpuMeter) -> dict[str, Any]:
    counts, errors = [0] * len(clients), [0] * len(clients)
    until = time.monotonic() + seconds

    def annotate(who: int) -> None:
        while time.monotonic() < until and errors[who] < 100:
            if clients[who].cycle(level) is None:
                counts[who] += 1
            else:
                errors[who] += 1

    started = time.monotonic()
    threads = [threading.Thread(target=annotate, args=(n,)) for n in range(len(clients))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.monotonic() - started
    cycles = sum(counts)
    cpu = meter.read(wall, cycles)
    return {
        "cycles_per_s": round(cycles / wall, 1),
        "errors": sum(errors),
        "web_cpu_ms_per_cycle": cpu["web_cpu_ms_per_cycle"],
        "database_cpu_ms_per_cycle": cpu["database_cpu_ms_per_cycle"],
        "machine_busy_share": cpu["machine_busy_share"],
    }


def write_tasks(path: Path, count: int) -> None:
    with path.open("w", encoding="utf-8") as out:
        for i in range(count):
            out.write(json.dumps({"text": f"Task number {i}, to be labelled."}) + "\n")


def run(args: argparse.Namespace, env: dict[str, str], work: Path, processes: list[Any]) -> Any:
    env = dict(env, THROTTLE_USER="10000000/min")
    manage(env, "migrate", "--noinput", "-v0")
    tasks_file = work / "tasks.jsonl"
    write_tasks(tasks_file, args.tasks)
    setup = json.loads(
        manage(
            dict(
                env,
                CELERY_TASK_ALWAYS_EAGER="true",
                BENCH_TASKS_FILE=str(tasks_file),
                BENCH_ANNOTATORS=str(args.annotators),
            ),
            "shell",
            "-c",
            SETUP,
        )
        .strip()
        .splitlines()[-1]
    )
    served = dict(env, DJANGO_SETTINGS_MODULE="bench.floor_settings")
    web, _, port = start(served, args.web_workers, work / "server.log", worker=False)
    processes.append(web)
    url = env.get("DATABASE_URL")
    database = (url, urlparse(url).path.lstrip("/")) if url else None
    clients = [Client(port, setup, session) for session in setup["sessions"]]
    levels = args.levels.split(",")
    for level in levels:  # warm every process up on every route, unmeasured
        run_level(clients, level, 1.0, CpuMeter(web.pid, None))
    rounds: dict[str, list[dict[str, Any]]] = {level: [] for level in levels}
    for number in range(args.rounds):
        for level in levels:
            figures = run_level(clients, level, args.seconds, CpuMeter(web.pid, database))
            rounds[level].append(figures)
            print(f"round {number + 1} {level}: {json.dumps(figures)}", file=sys.stderr)
    if any(f["errors"] for runs in rounds.values() for f in runs):
        log = (work / "server.log").read_text(errors="replace").splitlines()
        print("server log, last lines:", *log[-40:], sep="\n", file=sys.stderr)
    return {
        **{
            f"{level}_cycles_per_s": statistics.median(f["cycles_per_s"] for f in runs)
            for level, runs in rounds.items()
        },
        "annotators": args.annotators,
        "seconds": args.seconds,
        "web_workers": args.web_workers,
        "database": "postgresql" if url else "sqlite",
        "rounds": rounds,
    }


def main() -> None:
    args = parse()
    work = Path(tempfile.mkdtemp(prefix="labelkeep-bench-floor-"))
    env, database_url, db_name = bench_env(work)
    processes: list[Any] = []
    try:
        print(json.dumps(run(args, env, work, processes)))
    finally:
        teardown(processes, database_url=database_url, db_name=db_name, work=work, keep=args.keep)


if __name__ == "__main__":
    main()
