"""What auditing costs the work queue, and how long ``audit_verify`` takes on a large log.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres REDIS_URL=redis://127.0.0.1:6379/12 \\
        .venv/bin/python bench/audit.py --annotators 16 --seconds 30 --verify-events 10000000

Overhead: the queue's benchmark (``bench/queue.py``: a classification project of ``--tasks``
tasks imported through the real pipeline, annotators signed in with real sessions, next +
submit over HTTP against gunicorn) on a fresh database of the server that ``DATABASE_URL``
names (SQLite when unset). The product has no switch that turns auditing off, so the time is
measured inside the server: gunicorn runs with ``bench/audit_probe.py`` as its configuration,
whose workers time every call of ``audit.services.record`` (and the checkpoint request it
schedules after commit) and the whole request, and write one line per request. Phase one: one
annotator, ``--cycles`` cycles after a warm-up; phase many: ``--annotators`` annotators for
``--seconds`` seconds. ``audit_share`` is the time spent recording over the time spent serving,
summed over phase many's next and submit requests; ``added_p95_ms`` is the 95th percentile,
over those requests, of the time one request spent recording. Wall time, so on a busy machine
it includes moments the worker waited for a core; the CPU time spent recording is reported
beside it (against the serving time, and against all the web processes' CPU), and so is the
recording time against what the annotators waited (queueing for a worker included).

Verification: ``--verify-events`` correctly chained events are appended to the same database
with ``bench/audit_verify.py``'s filler (bulk inserts, bypassing ``record``), then a separate
process runs ``bench/audit_verify.py --events 0``, which verifies the whole log (every hash,
link and checkpoint, as ``manage.py audit_verify`` does) and reports the time and its own
peak resident memory. ``--verify-events 0`` skips this part.

The last line is JSON: ``audit_share``, ``added_p95_ms``, ``verify_s_per_million``,
``verify_peak_rss_mb``, and the details (``one``, ``many``, ``verify``).
"""

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
# Run as a script, this folder would come first on sys.path, and this very file would answer
# ``import audit`` (the Django app) and bench/queue.py ``import queue``.
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != HERE]

import argparse  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from typing import Any  # noqa: E402
from urllib.parse import urlparse  # noqa: E402

from bench.harness import PYTHON, CpuMeter, run_in_work_folder, start, teardown  # noqa: E402
from bench.queue import (  # noqa: E402
    WARMUP_CYCLES,
    Client,
    Handouts,
    Tally,
    cycle,
    figures,
    fill,
    phase_many,
)

PROBE = HERE / "audit_probe.py"
PHASE = "X-Bench-Phase"


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=20_000, help="tasks in the project")
    parser.add_argument("--annotators", type=int, default=16, help="concurrent annotators")
    parser.add_argument("--seconds", type=float, default=30, help="length of phase many")
    parser.add_argument("--cycles", type=int, default=300, help="cycles of phase one")
    parser.add_argument("--web-workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument(
        "--verify-events",
        type=int,
        default=10_000_000,
        help="events to append and verify (0: skip verification)",
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", action="store_true", help="keep the work folder and database")
    return parser.parse_args()


@dataclass(frozen=True)
class Served:
    """One request as the server's probe saw it."""

    phase: str
    kind: str
    serve_s: float
    serve_cpu_s: float
    record_s: float
    record_cpu_s: float
    events: int


def read_probe(folder: Path) -> list[Served]:
    rows = []
    for path in sorted(folder.glob("worker-*.tsv")):
        for line in path.read_text().splitlines():
            phase, kind, serve, serve_cpu, record, record_cpu, events = line.split("\t")
            times = float(serve), float(serve_cpu), float(record), float(record_cpu)
            rows.append(Served(phase, kind, *times, int(events)))
    return rows


def quantile_ms(values: list[float], q: float) -> float | None:
    """The q-quantile by nearest rank, in milliseconds."""
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[max(0, math.ceil(q * len(ordered)) - 1)] * 1000, 3)


def overhead(rows: list[Served]) -> dict[str, Any]:
    """Recording against serving, over the next and submit requests of one phase."""
    work = [r for r in rows if r.kind in ("next", "submit")]
    serve = sum(r.serve_s for r in work)
    result: dict[str, Any] = {
        "requests": len(work),
        "events": sum(r.events for r in work),
        "audit_share": round(sum(r.record_s for r in work) / serve, 4) if serve else None,
        "audit_cpu_share": round(sum(r.record_cpu_s for r in work) / serve, 4) if serve else None,
        "serve_cpu_share": round(sum(r.serve_cpu_s for r in work) / serve, 4) if serve else None,
    }
    for kind in ("next", "submit"):
        some = [r for r in work if r.kind == kind]
        result[kind] = {
            "requests": len(some),
            "serve_p50_ms": quantile_ms([r.serve_s for r in some], 0.5),
            "serve_p95_ms": quantile_ms([r.serve_s for r in some], 0.95),
            "record_p50_ms": quantile_ms([r.record_s for r in some], 0.5),
            "record_p95_ms": quantile_ms([r.record_s for r in some], 0.95),
            "record_cpu_p50_ms": quantile_ms([r.record_cpu_s for r in some], 0.5),
            "events_per_request": round(sum(r.events for r in some) / len(some), 2)
            if some
            else None,
        }
    recording = [r.record_s for r in work]
    result["added_p50_ms"] = quantile_ms(recording, 0.5)
    result["added_p95_ms"] = quantile_ms(recording, 0.95)
    result["added_p99_ms"] = quantile_ms(recording, 0.99)
    return result


def phase_one(client: Client, cycles: int, handouts: Handouts) -> dict[str, Any]:
    client.headers[PHASE] = "warmup"
    warmup = Tally()
    for _ in range(WARMUP_CYCLES):
        cycle(client, 0, warmup, handouts)
    client.headers[PHASE] = "one"
    tally, started = Tally(), time.monotonic()
    for _ in range(cycles):
        if not cycle(client, 0, tally, handouts):
            break
    return figures(tally, time.monotonic() - started)


def serve_and_measure(
    args: argparse.Namespace, env: dict[str, str], work: Path, processes: list[Any]
) -> dict[str, Any]:
    queue_args = argparse.Namespace(
        tasks=args.tasks, seed=args.seed, annotators=args.annotators, analyze=False, history=0
    )
    setup = fill(queue_args, env, work)
    probe_dir = work / "probe"
    probe_dir.mkdir()
    served_env = dict(
        env, GUNICORN_CMD_ARGS=f"--config {PROBE}", BENCH_AUDIT_PROBE_DIR=str(probe_dir)
    )
    web, _, port = start(served_env, args.web_workers, work / "server.log", worker=False)
    processes.append(web)
    url = env.get("DATABASE_URL")
    database = (url, urlparse(url).path.lstrip("/")) if url else None
    project, sessions, handouts = setup["project"], setup["sessions"], Handouts()
    one = phase_one(Client(port, project, sessions[0], setup), args.cycles, handouts)
    clients = [Client(port, project, key, setup) for key in sessions[1:]]
    for client in clients:
        client.headers[PHASE] = "many"
    many = phase_many(clients, args.seconds, handouts, CpuMeter(web.pid, database))
    teardown([web], database_url="", db_name="", work=work, keep=True)  # flushes the probe
    processes.remove(web)
    rows = read_probe(probe_dir)
    if not rows:
        raise SystemExit(f"the probe recorded nothing: see {work / 'server.log'}")
    many_rows = [r for r in rows if r.phase == "many" and r.kind in ("next", "submit")]
    return {
        "one": {**one, **overhead([r for r in rows if r.phase == "one"])},
        "many": {**many, **overhead(many_rows), **other_shares(many_rows, many, len(clients))},
    }


def other_shares(rows: list[Served], phase: dict[str, Any], clients: int) -> dict[str, Any]:
    """The same time against what the clients waited (serving plus queueing for a worker),
    and recording's CPU against all the web processes' CPU."""
    waited = clients * phase["wall_s"]
    web_cpu = phase["cpu"]["web_cpu_s"]
    return {
        "audit_share_of_client_time": round(sum(r.record_s for r in rows) / waited, 4),
        "audit_cpu_share_of_web_cpu": round(sum(r.record_cpu_s for r in rows) / web_cpu, 4)
        if web_cpu
        else None,
    }


FILL = "from bench.audit_verify import fill; fill({count})"


def verify_large_log(env: dict[str, str], count: int) -> dict[str, Any]:
    """Append ``count`` events with audit_verify's filler, then verify in a process of its own
    (so its peak memory is verification's, not the filler's)."""
    started = time.monotonic()
    subprocess.run([PYTHON, "-c", FILL.format(count=int(count))], cwd=ROOT, env=env, check=True)
    fill_s = time.monotonic() - started
    print(f"{count:,} events appended in {fill_s:.0f} s", file=sys.stderr)
    done = subprocess.run(
        [PYTHON, str(HERE / "audit_verify.py"), "--events", "0"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    report: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    report["fill_s"] = round(fill_s, 1)
    if not report["ok"]:
        raise SystemExit(f"the filled log does not verify: {report}")
    return report


def say(name: str, phase: dict[str, Any]) -> None:
    web = phase.get("audit_cpu_share_of_web_cpu")
    of_web = "" if web is None else f", {web:.1%} of the web processes' CPU"
    print(
        f"{name}: {phase['cycles']} cycles ({phase['cycles_per_s']}/s), {phase['requests']} "
        f"requests, {phase['events']} events; recording {phase['audit_share']:.1%} of serving "
        f"(its CPU time {phase['audit_cpu_share']:.1%} of serving time{of_web}); "
        f"per request p50 {phase['added_p50_ms']} ms, "
        f"p95 {phase['added_p95_ms']} ms; next p95 serve {phase['next']['serve_p95_ms']} ms "
        f"record {phase['next']['record_p95_ms']} ms; submit p95 serve "
        f"{phase['submit']['serve_p95_ms']} ms record {phase['submit']['record_p95_ms']} ms",
        file=sys.stderr,
    )


def run(
    args: argparse.Namespace, env: dict[str, str], work: Path, processes: list[Any]
) -> dict[str, Any]:
    measured = serve_and_measure(args, env, work, processes)
    say("one annotator", measured["one"])
    say(f"{args.annotators} annotators", measured["many"])
    verified = verify_large_log(env, args.verify_events) if args.verify_events else None
    if verified:
        print(f"verify: {verified}", file=sys.stderr)
    many = measured["many"]
    return {
        "audit_share": many["audit_share"],
        "added_p95_ms": many["added_p95_ms"],
        "verify_s_per_million": verified["verify_s_per_million"] if verified else None,
        "verify_s": verified["verify_s"] if verified else None,
        "verify_events": verified["events"] if verified else None,
        "verify_peak_rss_mb": verified["peak_rss_mb"] if verified else None,
        "database": "postgresql" if env.get("DATABASE_URL") else "sqlite",
        "annotators": args.annotators,
        "seconds": args.seconds,
        "tasks": args.tasks,
        "web_workers": args.web_workers,
        **measured,
        "verify": verified,
    }


def main() -> None:
    run_in_work_folder("audit", parse(), run)


if __name__ == "__main__":
    main()
