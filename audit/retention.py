"""Retention: archive old events to the blob store under the lab key, then prune them.

A run takes the newest checkpoint older than the cutoff and, for every chain it signed beyond
the chain's anchor (and that every SIEM sink has already received), the events from the anchor
up to the signed position. They go, with the checkpoint, into one encrypted JSONL archive,
which is read back and verified. Only then, in one transaction, ``audit.archived`` is recorded,
a signed anchor is added per chain and the archived events are deleted.

Kill-safe: a crash before that transaction leaves every event in place, and the next run
archives them again (rewriting the same archive, or a newer one that supersedes it); the
transaction commits whole or not at all. Idempotent: a chain already anchored at the signed
position is skipped.
"""

import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from audit import checkpoints, exports, hashing, shipping
from audit.checkpoints import Claim
from audit.guard import unlocked
from audit.models import AuditAnchor, AuditCheckpoint, AuditEvent, AuditShipCursor
from audit.services import Actor, record
from audit.verify import START, Tip, anchor_payload, current_anchors, link_problem
from core.errors import Conflict
from vault import config, signing
from vault.errors import BlobNotFound, CiphertextInvalid
from vault.keys import LAB_KEY_ID

ARCHIVE_VERSION = 1
_ADVISORY_LOCK = 0x6C6B_6175_6469_7402


@dataclass(frozen=True)
class Segment:
    """The archived part of one chain: after ``start`` (its previous anchor) up to ``end``."""

    chain: int
    start: Tip
    end: Claim


@dataclass
class ArchiveResult:
    name: str = ""
    checkpoint: int | None = None
    events: int = 0
    chains: int = 0


@dataclass
class ArchiveReport:
    name: str
    checkpoint: int | None = None
    events: int = 0
    segments: list[Segment] = field(default_factory=list)
    sha256: str = ""
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


class ArchiveInvalid(Exception):
    """An archive just written did not verify: nothing is pruned."""


def archive_name(checkpoint: int) -> str:
    return f"audit/archive-{checkpoint:010d}.jsonl"


def archive_old_events(*, older_than_days: int, actor: Actor) -> ArchiveResult:
    """Archive and prune the events signed by the newest checkpoint older than the cutoff.

    ``older_than_days`` 0 archives nothing (retention off).
    """
    if older_than_days <= 0:
        return ArchiveResult()
    cutoff = timezone.now() - timedelta(days=older_than_days)
    checkpoint = AuditCheckpoint.objects.filter(created_at__lt=cutoff).order_by("-number").first()
    if checkpoint is None:
        return ArchiveResult()
    segments = _segments(checkpoint)
    if not segments:
        return ArchiveResult(checkpoint=checkpoint.number)
    name = archive_name(checkpoint.number)
    config.project_keys().ensure_lab_key()
    config.blob_store().put(
        project_id=LAB_KEY_ID, name=name, source=_archive_lines(checkpoint, segments)
    )
    report = verify_archive(name=name)
    if not report.ok or report.segments != segments:
        raise ArchiveInvalid(f"{name} did not verify: {'; '.join(report.problems)}")
    events = _prune(checkpoint=checkpoint, report=report, actor=actor)
    return ArchiveResult(name, checkpoint.number, events, len(segments))


def _segments(checkpoint: AuditCheckpoint) -> list[Segment]:
    anchors = current_anchors()
    shipped = _shipped()
    segments = []
    for claim in checkpoints.claims_of(json.loads(checkpoint.payload)).values():
        anchor = anchors.get(claim.chain)
        start = Tip(anchor.pos, anchor.seq, anchor.hash) if anchor else START
        # Never prune what a SIEM has not received yet: shipping reads from the database.
        limit = claim.pos if shipped is None else shipped.get(claim.chain, 0)
        if start.pos < claim.pos <= limit:
            segments.append(Segment(claim.chain, start, claim))
    return sorted(segments, key=lambda s: s.chain)


def _shipped() -> dict[int, int] | None:
    """Per chain, the lowest position every configured sink has acknowledged (None: no sinks)."""
    sinks = [sink.name for sink in shipping.configured_sinks()]
    if not sinks:
        return None
    lowest: dict[int, int] = {}
    cursors = AuditShipCursor.objects.filter(sink__in=sinks, stream__gte=0)
    seen: dict[int, int] = {}
    for stream, position in cursors.values_list("stream", "position"):
        lowest[stream] = min(position, lowest.get(stream, position))
        seen[stream] = seen.get(stream, 0) + 1
    # A chain some sink has no cursor for has not been shipped to it at all.
    return {stream: (pos if seen[stream] == len(sinks) else 0) for stream, pos in lowest.items()}


def _line(value: dict[str, Any]) -> bytes:
    return (json.dumps(value, ensure_ascii=True, separators=(",", ":")) + "\n").encode()


def _archive_lines(checkpoint: AuditCheckpoint, segments: list[Segment]) -> Iterator[bytes]:
    yield _line(
        {
            "type": "audit_archive",
            "v": ARCHIVE_VERSION,
            "checkpoint": checkpoint.number,
            "segments": [
                {"chain": s.chain, "from": vars(s.start), "to": vars(s.end)} for s in segments
            ],
        }
    )
    yield _line(exports.checkpoint_record(checkpoint))
    for segment in segments:
        events = AuditEvent.objects.filter(
            chain=segment.chain,
            chain_pos__gt=segment.start.pos,
            chain_pos__lte=segment.end.pos,
        )
        for text in exports.jsonl_lines(exports.iter_events(events)):
            yield text.encode()


def verify_archive(*, name: str) -> ArchiveReport:
    """Read an archive back and check it: the checkpoint's signature, every event's hash and
    link from its segment's start, and each segment ending where the checkpoint signed."""
    report = ArchiveReport(name)
    digest = hashlib.sha256()
    try:
        with config.blob_store().open(project_id=LAB_KEY_ID, name=name) as stream:
            lines = _hashed(stream, digest)
            _check_archive(report, lines)
            for _ in lines:  # the whole file must decrypt for its digest
                pass
    except BlobNotFound:
        report.problems.append("no such archive")
    except CiphertextInvalid as exc:
        report.problems.append(f"the archive does not decrypt: {exc.message}")
    except (ValueError, KeyError, TypeError) as exc:
        report.problems.append(f"the archive is malformed ({type(exc).__name__})")
    report.sha256 = digest.hexdigest() if report.ok else ""
    return report


def _hashed(stream: Iterable[bytes], digest: Any) -> Iterator[bytes]:
    for line in stream:
        digest.update(line)
        yield line


def _check_archive(report: ArchiveReport, lines: Iterator[bytes]) -> None:
    header = json.loads(next(lines))
    if header.get("type") != "audit_archive" or header.get("v") != ARCHIVE_VERSION:
        report.problems.append("not an audit archive of a known version")
        return
    claims = _signed_claims(report, json.loads(next(lines)), header["checkpoint"])
    for item in header["segments"]:
        segment = Segment(item["chain"], Tip(**item["from"]), Claim(**item["to"]))
        if claims.get(segment.chain) != segment.end:
            report.problems.append(f"chain {segment.chain}: its end was not signed")
        report.segments.append(segment)
    if report.ok:
        _check_events(report, lines)


def _signed_claims(report: ArchiveReport, record: dict[str, Any], number: int) -> dict[int, Claim]:
    key = signing.trusted_public_keys().get(record["key_id"])
    payload = record["payload"]
    if key is None or not signing.signature_valid(key, record["signature"], payload.encode()):
        report.problems.append("its checkpoint is not signed by a trusted key")
        return {}
    signed = json.loads(payload)
    if signed["number"] != number:
        report.problems.append("its checkpoint is not the one it names")
    report.checkpoint = number
    return checkpoints.claims_of(signed)


def _check_events(report: ArchiveReport, lines: Iterator[bytes]) -> None:
    tips = {segment.chain: segment.start for segment in report.segments}
    for line in lines:
        row = json.loads(line)
        tip = tips.get(row["chain"])
        what = _event_problem(row, tip)
        if what:
            report.problems.append(f"event seq {row['seq']} (chain {row['chain']}): {what}")
            return
        report.events += 1
        tips[row["chain"]] = Tip(row["chain_pos"], row["seq"], row["hash"])
    for segment in report.segments:
        end = segment.end
        if tips[segment.chain] != Tip(end.pos, end.seq, end.hash):
            report.problems.append(f"chain {segment.chain}: events are missing before its end")


def _event_problem(row: dict[str, Any], tip: Tip | None) -> str:
    if tip is None:
        return "its chain is not in the archive"
    if row.get("type") != "audit_event" or row["hash_version"] != hashing.HASH_VERSION:
        return "not an event of a known hash version"
    if hashing.event_digest(row) != row["hash"]:
        return "its contents do not match its hash: the event was altered"
    return link_problem(row, tip)


@transaction.atomic
def _prune(*, checkpoint: AuditCheckpoint, report: ArchiveReport, actor: Actor) -> int:
    _take_lock()
    anchors = current_anchors()
    todo = []
    for segment in report.segments:
        anchor = anchors.get(segment.chain)
        at = Tip(anchor.pos, anchor.seq, anchor.hash) if anchor else START
        if at.pos >= segment.end.pos:
            continue  # a concurrent run archived it already
        if at != segment.start:
            raise Conflict("Another archive run moved this chain's anchor; run again.")
        todo.append(segment)
    if not todo:
        return 0
    events = sum(s.end.pos - s.start.pos for s in todo)
    record(
        actor=actor,
        action="audit.archived",
        object_type="audit_archive",
        object_id=report.name,
        details={"checkpoint": checkpoint.number, "events": events, "chains": len(todo)},
    )
    for segment in todo:
        _anchor(segment, checkpoint=checkpoint.number, report=report)
    with unlocked():
        for segment in todo:
            _delete(segment)
    return events


def _take_lock() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_ADVISORY_LOCK])


def _anchor(segment: Segment, *, checkpoint: int, report: ArchiveReport) -> None:
    key = signing.signing_key()
    anchor = AuditAnchor(
        chain=segment.chain,
        pos=segment.end.pos,
        seq=segment.end.seq,
        hash=segment.end.hash,
        checkpoint=checkpoint,
        archive=report.name,
        archive_sha256=report.sha256,
        created_at=timezone.now(),
        key_id=key.key_id,
    )
    anchor.payload = hashing.canonical_json(anchor_payload(anchor)).decode()
    anchor.signature = key.sign(anchor.payload.encode())
    anchor.save()


def _delete(segment: Segment) -> None:
    # The ORM refuses deletes of audit rows (AppendOnlyQuerySet); the triggers allow this one
    # because the transaction is unlocked.
    table = AuditEvent._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {table} WHERE chain = %s AND chain_pos > %s AND chain_pos <= %s",  # noqa: S608
            [segment.chain, segment.start.pos, segment.end.pos],
        )
        deleted = cursor.rowcount
    if deleted != segment.end.pos - segment.start.pos:
        raise ArchiveInvalid(
            f"chain {segment.chain}: {deleted} events to prune, the archive holds "
            f"{segment.end.pos - segment.start.pos}"
        )
