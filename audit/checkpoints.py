"""Signed checkpoints: the heads of every chain, signed with the Ed25519 key outside the database.

A checkpoint is due when ``AUDIT_CHECKPOINT_EVERY_EVENTS`` events are unsigned or the last
checkpoint is ``AUDIT_CHECKPOINT_EVERY_MINUTES`` old and anything was recorded since. Each
checkpoint names the digest of the one before, so removing one from the middle shows.
"""

import hashlib
import json
import threading
import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from audit import hashing
from audit.models import AuditChainHead, AuditCheckpoint
from vault import signing

CHECKPOINT_VERSION = 1
# Any constant works; it only has to differ from the other advisory locks of the database.
_ADVISORY_LOCK = 0x6C6B_6175_6469_7401


@dataclass(frozen=True)
class Claim:
    """A checkpoint's statement that position ``pos`` of ``chain`` is seq ``seq`` with ``hash``."""

    chain: int
    pos: int
    seq: int
    hash: str


def digest(payload: str) -> str:
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def claims_of(payload: dict[str, Any]) -> dict[int, Claim]:
    return {head["chain"]: Claim(**head) for head in payload["heads"]}


@transaction.atomic
def checkpoint_create(*, force: bool = False) -> AuditCheckpoint | None:
    """Sign the current chain heads if a checkpoint is due (or ``force``, if anything is
    unsigned). Returns the new checkpoint, or None when there was nothing to sign."""
    _take_lock()
    last = AuditCheckpoint.objects.order_by("-number").first()
    heads = [
        Claim(h.chain, h.length, h.seq, h.hash)
        for h in AuditChainHead.objects.filter(length__gt=0).order_by("chain")
    ]
    if not _due(last, heads, force=force):
        return None
    key = signing.signing_key()
    now = timezone.now()
    number = last.number + 1 if last else 1
    document = {
        "v": CHECKPOINT_VERSION,
        "number": number,
        "created_at": hashing.timestamp(now),
        "prev": digest(last.payload) if last else "",
        "key_id": key.key_id,
        "heads": [vars(claim) for claim in heads],
    }
    payload = hashing.canonical_json(document).decode("utf-8")
    return AuditCheckpoint.objects.create(
        number=number,
        created_at=now,
        payload=payload,
        key_id=key.key_id,
        signature=key.sign(payload.encode("utf-8")),
    )


def _take_lock() -> None:
    # Two workers deciding at once would both sign checkpoint n+1; the unique number would
    # reject one, but waiting is cleaner. SQLite writers are serialized already.
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_ADVISORY_LOCK])


def _due(last: AuditCheckpoint | None, heads: list[Claim], *, force: bool) -> bool:
    signed = sum(c.pos for c in claims_of(json.loads(last.payload)).values()) if last else 0
    unsigned = sum(c.pos for c in heads) - signed
    if unsigned <= 0:
        return False
    if force or last is None or unsigned >= settings.AUDIT_CHECKPOINT_EVERY_EVENTS:
        return True
    age = timezone.now() - last.created_at
    return age.total_seconds() >= settings.AUDIT_CHECKPOINT_EVERY_MINUTES * 60


class _Nudge:
    """Asks, after commit, for a checkpoint now and then: each process does so every few
    events or minutes, and the task itself decides from the database whether one is due."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._events = 0
        self._since = time.monotonic()

    def due(self) -> bool:
        every = max(1, settings.AUDIT_CHECKPOINT_EVERY_EVENTS // 8)
        minutes = settings.AUDIT_CHECKPOINT_EVERY_MINUTES
        with self._lock:
            self._events += 1
            late = time.monotonic() - self._since >= minutes * 60
            if self._events < every and not late:
                return False
            self._events, self._since = 0, time.monotonic()
            return True


nudge = _Nudge()


def request_after_commit() -> None:
    """Called by ``record``: schedule a checkpoint check after this transaction commits."""
    if nudge.due():
        transaction.on_commit(_enqueue, robust=True)


def _enqueue() -> None:
    from audit.tasks import audit_checkpoint  # the task module imports this one

    audit_checkpoint.delay()
