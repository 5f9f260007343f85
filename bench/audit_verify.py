"""How long ``audit_verify`` takes per million events, and how much memory it holds.

Appends ``--events`` synthetic, correctly chained events (bulk inserts, bypassing ``record``
for speed) to a disposable, migrated database, signs a checkpoint, then verifies the whole log
and reports the time and the peak resident memory. Run it twice with different sizes to see
that memory does not grow with the log (``--events 0`` verifies without appending, so the peak
memory is verification's alone). The last line is JSON.

    DATABASE_URL=postgres://.../lk_bench SECRET_KEY=... LABELKEEP_MASTER_KEY_FILE=... \\
        .venv/bin/python bench/audit_verify.py --events 200000
"""

import argparse
import json
import os
import resource
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from audit import hashing  # noqa: E402
from audit.checkpoints import checkpoint_create  # noqa: E402
from audit.models import AuditChainHead, AuditEvent  # noqa: E402
from audit.services import Actor, record  # noqa: E402
from audit.verify import verify  # noqa: E402

BATCH = 5000


def _heads() -> dict[int, AuditChainHead]:
    record(actor=Actor.system("bench"), action="bench.start")  # creates the head rows
    return {h.chain: h for h in AuditChainHead.objects.all()}


def _event(seq: int, head: AuditChainHead, project: uuid.UUID) -> AuditEvent:
    fields = {
        "seq": seq,
        "event_id": uuid.uuid4(),
        "occurred_at": timezone.now(),
        "action": "task.read",
        "outcome": "success",
        "actor_id": project,
        "actor_label": "annotator@lab.test",
        "auth_method": "session",
        "token_id": None,
        "project_id": project,
        "object_type": "task",
        "object_id": str(seq),
        "ip": "192.0.2.1",
        "user_agent": "Mozilla/5.0 (bench)",
        "request_id": uuid.uuid4().hex,
        "details": {"lease_seconds": 600},
        "chain": head.chain,
        "chain_pos": head.length + 1,
        "prev_hash": head.hash,
    }
    digest = hashing.event_digest(fields)
    head.length, head.seq, head.hash = head.length + 1, seq, digest
    return AuditEvent(**fields, hash=digest, hash_version=hashing.HASH_VERSION)


def fill(count: int) -> None:
    heads = _heads()
    project = uuid.uuid4()
    seq = (AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first() or 0) + 1
    while count > 0:
        batch = []
        for _ in range(min(BATCH, count)):
            batch.append(_event(seq, heads[seq % settings.AUDIT_CHAINS], project))
            seq += 1
        with transaction.atomic():
            AuditEvent.objects.bulk_create(batch)
            AuditChainHead.objects.bulk_update(heads.values(), ["length", "seq", "hash"])
        count -= len(batch)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT setval(pg_get_serial_sequence('audit_auditevent', 'seq'), %s)", [seq]
            )
    checkpoint_create(force=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--events", type=int, default=100_000, help="Events to append first (0: only verify)."
    )
    args = parser.parse_args()
    if args.events:
        fill(args.events)
    started = time.perf_counter()
    report = verify()
    elapsed = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result = {
        "ok": report.ok,
        "events": report.events,
        "checkpoints": report.checkpoints,
        "verify_s": round(elapsed, 2),
        "verify_s_per_million": round(elapsed / report.events * 1_000_000, 1),
        "peak_rss_mb": round(peak_mb, 1),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
