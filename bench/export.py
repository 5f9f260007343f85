"""Benchmark: a dataset version of N annotations, built by the job and downloaded over HTTP.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres REDIS_URL=redis://127.0.0.1:6379/12 \\
        .venv/bin/python bench/export.py --rows 1000000 --format jsonl

What production runs: a fresh database, N tasks imported through the real import, one submitted
annotation per task (sealed like the work's, written in bulk), gunicorn and a Celery worker,
warmed up as long-running processes are: first a version of a second, 50-row project is built
and downloaded, so that the worker's first job and the web processes' first requests (their
imports, pyarrow's among them) are not counted, and the measured project's rows are not read
before the clock starts. A pipeline's export token creates the
version; the clock runs from that request until the file is downloaded whole (streamed,
decrypted) and its SHA-256 checked against the signed manifest.
Prints progress to stderr; the last line on stdout is one JSON object of figures:
rows_per_s (end to end), job_s, download_s, peak_rss_mb of the worker, size_mb; the build's
helper processes (``--processes``, datasets/exports/parallel.py): helpers, helpers_peak_rss_mb
(the largest helper's peak) and peak_pss_total_mb (the highest sum of the worker's and its
helpers' proportional set size, shared pages counted once); and where the CPU went, since the
machine may be shared: job_cpu_s (the worker, all its threads), helpers_cpu_s, job_db_cpu_s
(PostgreSQL's backends during the job, when the server runs here), download_web_cpu_s and
download_client_cpu_s, and load_1m (the machine's load when the run started).
"""

import argparse
import hashlib
import http.client
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.harness import (
    DatabaseCpu,
    TreeMemory,
    bench_env,
    children_cpu_seconds,
    cpu_seconds,
    manage,
    own_cpu,
    peak_rss_mb,
    start,
    teardown,
    tree_cpu,
)
from bench.queue import write_tasks

SETUP = """
import json, os, time
from projects import tokens
from accounts.models import TokenScope, User
from audit.services import Actor
from datasets import imports
from datasets.models import ImportState
from projects import services
from bench.export import seed_annotations
admin = User.objects.create_user("bench@lab.test", None, is_staff=True)
actor = Actor.system(user=admin)
# A small project whose version warms the web and worker processes up before the clock starts,
# without reading (and so caching) the measured project's rows.
warm = services.project_create(actor=actor, name="Warm-up", overlap=1, label_schema={
    "labels": [{"name": "positive"}, {"name": "negative"}, {"name": "neutral"}]})
with open(os.environ["BENCH_WARM_FILE"], "rb") as source:
    imp = imports.import_create(actor=actor, project=warm, source=source,
                                options=imports.import_options(warm, file_name="tasks.jsonl"))
seed_annotations(warm, annotators=2, emails="warm")
warm_token = tokens.token_create(actor=actor, name="warm-up", scope=TokenScope.EXPORT,
                                 projects=[warm.pk])
project = services.project_create(actor=actor, name="Export bench", overlap=1, label_schema={
    "labels": [{"name": "positive"}, {"name": "negative"}, {"name": "neutral"}]})
started = time.monotonic()
options = imports.import_options(project, file_name="tasks.jsonl")
with open(os.environ["BENCH_TASKS_FILE"], "rb") as source:
    imp = imports.import_create(actor=actor, project=project, options=options, source=source)
imp.refresh_from_db()
assert imp.state == ImportState.SUCCEEDED, imp.problems
seeded = seed_annotations(project, annotators=int(os.environ["BENCH_ANNOTATORS"]))
token = tokens.token_create(actor=actor, name="pipeline", scope=TokenScope.EXPORT,
                            projects=[project.pk])
print(json.dumps({"project": str(project.pk), "token": token.plaintext, "rows": seeded,
                  "warm_project": str(warm.pk), "warm_token": warm_token.plaintext,
                  "fill_s": time.monotonic() - started}))
"""


# Annotations in the warm-up project.
WARM_ROWS = 50


def seed_annotations(project: Any, *, annotators: int, emails: str = "annotator") -> int:
    """One submitted annotation per task of ``project``, by ``annotators`` people in turn,
    sealed as the work seals them; COPY on PostgreSQL, bulk inserts on SQLite."""
    import random
    import uuid

    from django.db import connection, transaction
    from django.utils import timezone

    import vault
    from accounts.models import User
    from audit.services import Actor
    from labeling.models import Annotation, Task
    from projects import services
    from projects.models import Role

    actor = Actor.system(user=project.created_by)
    people = [
        services.member_add(
            actor=actor,
            project=project,
            user=User.objects.create_user(f"{emails}{n}@lab.test", None),
            role=Role.ANNOTATOR,
        ).pk
        for n in range(annotators)
    ]
    labels = [label["name"] for label in project.label_schema["labels"]]
    sealer = vault.field_sealer(project.pk, "annotation.result")
    rng = random.Random(7)
    now = timezone.now()
    # Read first: the connection cannot run a query while it copies.
    task_ids = list(
        Task.objects.filter(project=project).order_by("seq").values_list("pk", flat=True)
    )
    columns = (
        "id, project_id, task_id, annotator_id, status, review_state, is_gold, swapped, "
        "result, revision, time_spent, skip_reason, created_at, updated_at, submitted_at"
    )
    names = columns.split(", ")

    def rows() -> Any:
        for n, task_id in enumerate(task_ids):
            pk = uuid.uuid4()
            result = sealer.seal(str(pk), {"labels": [rng.choice(labels)]})
            spent = round(rng.uniform(2, 60), 3)
            who = people[n % len(people)]
            yield (pk, project.pk, task_id, who, "submitted", "", False, False, result, 1,
                   spent, "", now, now, now)  # fmt: skip

    count = 0
    with transaction.atomic():
        if connection.vendor == "postgresql":
            table = Annotation._meta.db_table
            with (
                connection.connection.cursor() as cursor,
                cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy,
            ):
                for row in rows():
                    copy.write_row(row)
                    count += 1
        else:
            batch: list[Annotation] = []
            for row in rows():
                batch.append(Annotation(**dict(zip(names, row, strict=True))))
                if len(batch) == 5000:
                    Annotation.objects.bulk_create(batch)
                    count += len(batch)
                    batch = []
            Annotation.objects.bulk_create(batch)
            count += len(batch)
        Task.objects.filter(project=project).update(
            annotation_count=1, open_slots=0, state="complete"
        )
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # As autovacuum leaves a project that grew over weeks: the bulk update above
            # leaves a dead version of every task, which a fresh export would step over.
            cursor.execute(f"VACUUM ANALYZE {Task._meta.db_table}, {Annotation._meta.db_table}")
            cursor.execute("ANALYZE")
    return count


def request(port: int, method: str, path: str, token: str, body: Any = None) -> Any:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
    response = conn.getresponse()
    data = response.read()
    if response.status >= 300:
        raise SystemExit(f"{method} {path}: {response.status} {data[:500]!r}")
    return json.loads(data)


def build(port: int, base: str, token: str, body: dict[str, Any]) -> Any:
    """Create a version and wait for its job to end; the version as the API shows it.

    It waits as a considerate pipeline would: from the progress so far, it sleeps about half
    the time the build still needs (at most a second, at least 50 ms), so that it asks a few
    times early and often near the end. (Asking 20 times a second throughout costs the
    2-core machine about a twentieth of its CPU, which the build then lacks.)
    """
    started = time.monotonic()
    created = request(port, "POST", base, token, body)
    version_id = created["version"]["id"]
    while True:
        version = request(port, "GET", f"{base}{version_id}", token)
        if version["state"] in ("succeeded", "failed"):
            return version
        done = version.get("progress") or 0.0
        elapsed = time.monotonic() - started
        remaining = elapsed * (1 - done) / done if done > 0 else 0.2
        time.sleep(min(1.0, max(0.05, remaining / 2)))


def download(port: int, path: str, token: str) -> tuple[int, str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    conn.request("GET", path, headers={"Authorization": f"Bearer {token}"})
    response = conn.getresponse()
    if response.status != 200:
        raise SystemExit(f"download: {response.status} {response.read()[:500]!r}")
    digest = hashlib.sha256()
    size = 0
    while chunk := response.read(1024 * 1024):
        digest.update(chunk)
        size += len(chunk)
    return size, digest.hexdigest()


def run(
    args: argparse.Namespace,
    env: dict[str, str],
    work: Path,
    processes: list[Any],
    database: tuple[str, str] | None,
) -> Any:
    tasks_file, warm_file = work / "tasks.jsonl", work / "warm.jsonl"
    write_tasks(tasks_file, args.rows, 11)
    write_tasks(warm_file, WARM_ROWS, 12)
    manage(env, "migrate", "--noinput", "-v0")
    setup_env = dict(
        env,
        CELERY_TASK_ALWAYS_EAGER="true",
        BENCH_TASKS_FILE=str(tasks_file),
        BENCH_WARM_FILE=str(warm_file),
        BENCH_ANNOTATORS=str(args.annotators),
    )
    setup = json.loads(manage(setup_env, "shell", "-c", SETUP).strip().splitlines()[-1])
    tasks_file.unlink()
    warm_file.unlink()
    print(f"{setup['rows']:,} annotations seeded in {setup['fill_s']:.1f} s", file=sys.stderr)
    web, worker, port = start(env, args.web_workers, work / "server.log")
    processes.extend([web, worker])
    base = f"/api/v1/projects/{setup['project']}/versions/"
    token = setup["token"]
    load = os.getloadavg()[0]
    warm_up_started = time.monotonic()
    warm_base = f"/api/v1/projects/{setup['warm_project']}/versions/"
    warm_token = setup["warm_token"]
    warm = build(port, warm_base, warm_token, {"format": args.format, "name": "warm-up"})
    if warm["state"] != "succeeded" or warm["row_count"] != WARM_ROWS:
        raise SystemExit(f"the warm-up version: {warm}")
    download(port, f"{warm_base}{warm['id']}/download", warm_token)
    warm_up_s = time.monotonic() - warm_up_started
    worker_cpu = cpu_seconds(worker.pid)
    helpers_cpu = children_cpu_seconds(worker.pid)
    db_cpu = DatabaseCpu(*database) if database else None
    memory = TreeMemory(worker.pid, every=0.25)
    started = time.monotonic()
    version = build(port, base, token, {"format": args.format, "name": "bench"})
    version_id = version["id"]
    built = time.monotonic()
    helpers_memory = memory.stop()
    job_cpu = cpu_seconds(worker.pid) - worker_cpu
    helpers_cpu = children_cpu_seconds(worker.pid) - helpers_cpu
    job_db_cpu = db_cpu.stop() if db_cpu else None
    if version["state"] != "succeeded":
        raise SystemExit(f"the version failed: {version['error']} {version['error_message']}")
    web_cpu, client_cpu = tree_cpu(web.pid), own_cpu()
    size, sha256 = download(port, f"{base}{version_id}/download", token)
    done = time.monotonic()
    web_cpu, client_cpu = tree_cpu(web.pid) - web_cpu, own_cpu() - client_cpu
    manifest = json.loads(request(port, "GET", f"{base}{version_id}/manifest", token)["manifest"])
    assert manifest["file"]["sha256"] == sha256 == version["sha256"], "checksum mismatch"
    assert manifest["file"]["size"] == size
    rows = version["row_count"]
    assert rows == setup["rows"], (rows, setup["rows"])
    job_s, download_s = built - started, done - built
    print(
        f"{rows:,} rows as {args.format}: job {job_s:.1f} s, download {download_s:.1f} s "
        f"({size / 1e6:,.0f} MB), {rows / (done - started):,.0f} rows/s end to end; "
        f"CPU: worker {job_cpu:.1f} s, its {helpers_memory['helpers']} helpers "
        f"{helpers_cpu:.1f} s, database {job_db_cpu or 0:.1f} s, download "
        f"{web_cpu:.1f} s + {client_cpu:.1f} s; load {load:.1f}",
        file=sys.stderr,
    )
    return {
        "rows": rows,
        "format": args.format,
        "rows_per_s": round(rows / (done - started)),
        "job_s": round(job_s, 2),
        "download_s": round(download_s, 2),
        "size_mb": round(size / 1e6, 1),
        "peak_rss_mb": round(peak_rss_mb(worker.pid)),
        "job_cpu_s": round(job_cpu, 2),
        "helpers_cpu_s": round(helpers_cpu, 2),
        **helpers_memory,
        "job_db_cpu_s": None if job_db_cpu is None else round(job_db_cpu, 2),
        "download_web_cpu_s": round(web_cpu, 2),
        "download_client_cpu_s": round(client_cpu, 2),
        "load_1m": round(load, 2),
        "warm_up_s": round(warm_up_s, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000, help="annotations to export")
    parser.add_argument("--format", default="jsonl", help="jsonl, parquet, csv, ...")
    parser.add_argument("--annotators", type=int, default=8, help="people who made them")
    parser.add_argument("--web-workers", type=int, default=2)
    parser.add_argument(
        "--processes",
        type=int,
        help="helper processes per build (LABELKEEP_EXPORT_PROCESSES; 1: none; default: the "
        "product's, the machine's cores up to 4)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the database and files")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-export-"))
    env, database_url, db_name = bench_env(work)
    if args.processes:
        env["LABELKEEP_EXPORT_PROCESSES"] = str(args.processes)
    processes: list[Any] = []
    try:
        database = (database_url, db_name) if db_name else None
        figures = run(args, env, work, processes, database)
    finally:
        teardown(processes, database_url=database_url, db_name=db_name, work=work, keep=args.keep)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
