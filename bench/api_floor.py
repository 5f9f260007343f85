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

The project, its ``--tasks`` tasks and its annotators are ``bench/queue.py``'s (its ``fill``),
and so are the clients: each annotator signed in with a real session, a thread with its own
connection. The levels run
``--seconds`` each, one after another, ``--rounds`` times, so that a drift of the machine's
speed touches all of them alike. The per-user throttle is raised to 10,000,000 a minute (its
counter is still kept): at these rates the default (3,000) would refuse most requests.

The last line is JSON: per level, the median over rounds of cycles per second, with every
round's figures (cycles per second, web and database CPU per cycle in ms).
"""

import argparse
import json
import statistics
import sys
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.harness import CpuMeter, run_in_work_folder, start  # noqa: E402
from bench.queue import ANSWER, NEXT, Client, fill  # noqa: E402

LEVELS = ("django", "session", "drf", "throttle", "gate", "audit", "work")


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--annotators", type=int, default=16, help="concurrent annotators")
    parser.add_argument("--seconds", type=float, default=10, help="length of each level's run")
    parser.add_argument("--rounds", type=int, default=3, help="runs of every level")
    parser.add_argument(
        "--tasks", type=int, default=50_000, help="tasks in the project (level work uses them)"
    )
    parser.add_argument("--web-workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--levels", default=",".join(LEVELS), help=f"which levels, of {', '.join(LEVELS)}"
    )
    parser.add_argument("--keep", action="store_true", help="keep the work folder and database")
    parser.set_defaults(history=0)  # for bench/queue.py's fill: no earlier answers
    args = parser.parse_args()
    unknown = set(args.levels.split(",")) - set(LEVELS)
    if unknown:
        parser.error(f"unknown levels: {', '.join(sorted(unknown))}")
    return args


def floor_cycle(client: Client, level: str) -> str | None:
    """One next + submit at ``level``; an error's description, or None."""
    base = f"/floor/{level}/api/v1/projects/{client.project}"
    status, body, _ = client.post(f"{base}/next", NEXT)
    if status != 200:
        return f"next {status}"
    task = json.loads(body)["task_id"]
    status, _, _ = client.post(f"{base}/tasks/{task}/annotations/", ANSWER)
    return None if status == 201 else f"submit {status}"


def run_level(clients: list[Client], level: str, seconds: float, meter: CpuMeter) -> dict[str, Any]:
    counts, errors = [0] * len(clients), [0] * len(clients)
    until = time.monotonic() + seconds

    def annotate(who: int) -> None:
        while time.monotonic() < until and errors[who] < 100:
            if floor_cycle(clients[who], level) is None:
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


def run(
    args: argparse.Namespace, env: dict[str, str], work: Path, processes: list[Any]
) -> dict[str, Any]:
    env = dict(env, THROTTLE_USER="10000000/min")
    setup = fill(args, env, work)
    served = dict(env, DJANGO_SETTINGS_MODULE="bench.floor_settings")
    web, _, port = start(served, args.web_workers, work / "server.log", worker=False)
    processes.append(web)
    url = env.get("DATABASE_URL")
    database = (url, urlparse(url).path.lstrip("/")) if url else None
    # fill signs in one annotator more than asked (bench/queue.py's phase one has its own).
    sessions = setup["sessions"][1:]
    clients = [Client(port, setup["project"], session, setup) for session in sessions]
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
    run_in_work_folder("floor", parse(), run)


if __name__ == "__main__":
    main()
