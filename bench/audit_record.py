"""What ``audit.services.record`` costs with concurrent writers on PostgreSQL.

Each writer process runs transactions shaped like a service call: a write of its own, some
work, ``record()``, more work (``pg_sleep``), commit. The event goes with the COMMIT, which
is when its chain is locked (``audit.chain``); before, the lock was held through that work. The same
load runs without ``record()``, with one chain (a single global chain) and with several
chains, so the figures show both the cost of recording and what one global chain serializes.

    DATABASE_URL=postgres://.../lk_bench SECRET_KEY=... LABELKEEP_MASTER_KEY_FILE=... \\
        .venv/bin/python bench/audit_record.py --writers 16 --transactions 100

The database must be migrated and disposable: the events it writes cannot be deleted. The
last line is JSON.
"""

import argparse
import json
import multiprocessing
import os
import statistics
import sys
import time
from multiprocessing.queues import Queue
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("CELERY_TASK_ALWAYS_EAGER", "true")

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection, connections, transaction  # noqa: E402

from audit.services import Actor, record  # noqa: E402

_SCRATCH = "audit_bench_work"


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def _writer(n: int, args: argparse.Namespace, audit: bool, out: "Queue[Any]") -> None:
    actor = Actor.system(f"bench-writer-{n}")
    half = args.work_ms / 2000
    records, transactions, cpu = [], [], 0.0
    for i in range(args.transactions):
        started = time.perf_counter()
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"UPDATE {_SCRATCH} SET n = n + 1 WHERE writer = %s", [n])  # noqa: S608
            cursor.execute("SELECT pg_sleep(%s)", [half])
            if audit:
                before, cpu_before = time.perf_counter(), time.process_time()
                record(actor=actor, action="bench.step", details={"i": i})
                records.append(time.perf_counter() - before)
                cpu += time.process_time() - cpu_before
            cursor.execute("SELECT pg_sleep(%s)", [half])
        transactions.append(time.perf_counter() - started)
    connection.close()
    out.put((records, transactions, cpu))


def _prepare(writers: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TABLE IF NOT EXISTS {_SCRATCH} (writer int PRIMARY KEY, n bigint)")
        for n in range(writers):
            cursor.execute(
                f"INSERT INTO {_SCRATCH} VALUES (%s, 0) ON CONFLICT DO NOTHING",  # noqa: S608
                [n],
            )
    connections.close_all()


def run(args: argparse.Namespace, *, chains: int, audit: bool) -> dict[str, float]:
    settings.AUDIT_CHAINS = chains
    out: Queue[Any] = multiprocessing.Queue()
    context = multiprocessing.get_context("fork")
    workers = [
        context.Process(target=_writer, args=(n, args, audit, out)) for n in range(args.writers)
    ]
    started = time.perf_counter()
    for worker in workers:
        worker.start()
    results = [out.get() for _ in workers]
    elapsed = time.perf_counter() - started
    for worker in workers:
        worker.join()
    records = [r for rs, _, _ in results for r in rs]
    transactions = [t for _, ts, _ in results for t in ts]
    result = {
        "chains": chains if audit else 0,
        "transactions_per_s": round(len(transactions) / elapsed, 1),
        "transaction_p50_ms": round(statistics.median(transactions) * 1000, 2),
        "transaction_p95_ms": round(_percentile(transactions, 0.95) * 1000, 2),
    }
    if audit:
        result["record_p50_ms"] = round(statistics.median(records) * 1000, 2)
        result["record_p95_ms"] = round(_percentile(records, 0.95) * 1000, 2)
        # CPU of the writer process inside record(): what the call itself costs, apart from
        # waiting for the database, for locks or for a core on a busy machine.
        result["record_cpu_ms"] = round(sum(c for _, _, c in results) / len(records) * 1000, 3)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writers", type=int, default=16)
    parser.add_argument("--transactions", type=int, default=100, help="Per writer.")
    parser.add_argument("--work-ms", type=float, default=2.0, help="Other work per transaction.")
    parser.add_argument("--chains", type=int, nargs="+", default=[1, 16])
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit("This benchmark needs PostgreSQL (DATABASE_URL).")
    _prepare(args.writers)
    runs = [run(args, chains=1, audit=False)]
    runs += [run(args, chains=n, audit=True) for n in args.chains]
    baseline = runs[0]
    for result in runs:
        print(json.dumps(result))
    summary = {
        "writers": args.writers,
        "work_ms": args.work_ms,
        "runs": runs,
        "added_p50_ms": {
            str(r["chains"]): round(r["transaction_p50_ms"] - baseline["transaction_p50_ms"], 2)
            for r in runs[1:]
        },
        "added_p95_ms": {
            str(r["chains"]): round(r["transaction_p95_ms"] - baseline["transaction_p95_ms"], 2)
            for r in runs[1:]
        },
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
