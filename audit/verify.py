"""Proving the log intact: recompute every chain, check every signed checkpoint.

Three passes, each in constant memory (events and checkpoints are read in keyset-paged chunks;
what is kept is one entry per chain):

1. events in ``seq`` order: each event's hash matches its contents, its position follows the
   previous one of its chain, and it links to that event's hash;
2. the chain heads: each chain ends where its head row says (catches a removed or added end);
3. checkpoints in order: each is signed by a trusted key, names its predecessor, and every
   chain position it signs still holds the event it signed.

A chain whose older events were archived and pruned (``audit.retention``) starts from its
newest anchor instead of genesis: an anchor is trusted only if its own signature holds and the
checkpoint it names signed exactly that position, seq and hash.

The passes run in one snapshot (REPEATABLE READ on PostgreSQL), so writers may keep writing.
"""

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction
from django.db.models import Q

from audit import checkpoints, hashing
from audit.models import AuditAnchor, AuditChainHead, AuditCheckpoint, AuditEvent
from audit.selectors import in_chunks
from vault import signing

CHUNK = 2000
_COLUMNS = (*hashing.HASHED_FIELDS, "hash", "hash_version")


@dataclass(frozen=True)
class Tip:
    pos: int
    seq: int
    hash: str


START = Tip(0, 0, hashing.GENESIS)


@dataclass(frozen=True)
class Problem:
    what: str
    seq: int | None = None
    event_id: str = ""
    chain: int | None = None
    pos: int | None = None
    checkpoint: int | None = None

    def __str__(self) -> str:
        if self.checkpoint is not None:
            where = f"checkpoint #{self.checkpoint}"
        elif self.seq is not None:
            where = (
                f"event seq {self.seq} (id {self.event_id}, chain {self.chain} position {self.pos})"
            )
        else:
            where = f"chain {self.chain} position {self.pos}"
        return f"{where}: {self.what}"


@dataclass
class Report:
    events: int = 0
    chains: int = 0
    checkpoints: int = 0
    unsigned: int = 0
    problems: list[Problem] = field(default_factory=list)
    anchors: list[AuditAnchor] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def first(self) -> Problem | None:
        return self.problems[0] if self.problems else None


def verify(*, chunk: int = CHUNK) -> Report:
    """Check the whole log; the report's ``problems`` start with the first broken event."""
    outermost = not transaction.get_connection().in_atomic_block
    with transaction.atomic():
        if outermost:
            _snapshot()
        report = Report()
        heads = {h.chain: h for h in AuditChainHead.objects.order_by("chain")}
        anchors = _trusted_anchors(report)
        tips = _walk_events(report, heads, anchors, chunk)
        if report.ok:
            _check_heads(report, heads, tips)
        _check_checkpoints(report, heads, anchors, chunk)
        report.chains = sum(1 for h in heads.values() if h.length)
        return report


def _snapshot() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")


def _event_rows(chunk: int) -> Iterator[dict[str, Any]]:
    rows = AuditEvent.objects.values_list(*_COLUMNS)
    for row in in_chunks(rows, key="seq", chunk=chunk):
        yield dict(zip(_COLUMNS, row, strict=True))


def current_anchors() -> dict[int, AuditAnchor]:
    """Each chain's newest anchor (the highest position archived and pruned)."""
    return {anchor.chain: anchor for anchor in AuditAnchor.objects.order_by("chain", "pos")}


def anchor_payload(anchor: AuditAnchor) -> dict[str, Any]:
    """What an anchor's signature covers: every column but the signature and key id."""
    return {
        "v": 1,
        "chain": anchor.chain,
        "pos": anchor.pos,
        "seq": anchor.seq,
        "hash": anchor.hash,
        "checkpoint": anchor.checkpoint,
        "archive": anchor.archive,
        "archive_sha256": anchor.archive_sha256,
        "created_at": hashing.timestamp(anchor.created_at),
    }


def _trusted_anchors(report: Report) -> dict[int, AuditAnchor]:
    trusted = signing.trusted_public_keys()
    anchors = current_anchors()
    for anchor in anchors.values():
        key = trusted.get(anchor.key_id)
        signed = key is not None and signing.signature_valid(
            key, anchor.signature, anchor.payload.encode()
        )
        if not signed or json.loads(anchor.payload) != anchor_payload(anchor):
            report.problems.append(
                Problem(
                    "its anchor (where its archived part ends) is not signed by a trusted key "
                    "or differs from what was signed",
                    chain=anchor.chain,
                    pos=anchor.pos,
                )
            )
    report.anchors = list(anchors.values())
    return anchors


def _walk_events(
    report: Report, heads: dict[int, Any], anchors: dict[int, AuditAnchor], chunk: int
) -> dict[int, Tip]:
    tips = {chain: Tip(a.pos, a.seq, a.hash) for chain, a in anchors.items()}
    for row in _event_rows(chunk):
        report.events += 1
        what = _event_problem(row, heads, tips.get(row["chain"], START))
        if what:
            report.problems.append(_at(row, what))
            break
        tips[row["chain"]] = Tip(row["chain_pos"], row["seq"], row["hash"])
    return tips


def _at(row: dict[str, Any], what: str) -> Problem:
    return Problem(what, row["seq"], str(row["event_id"]), row["chain"], row["chain_pos"])


def _event_problem(row: dict[str, Any], heads: dict[int, Any], tip: Tip) -> str:
    if row["hash_version"] != hashing.HASH_VERSION:
        return f"unknown hash version {row['hash_version']}"
    if hashing.event_digest(row) != row["hash"]:
        return "its contents do not match its hash: the event was altered"
    if row["chain"] not in heads:
        return f"it claims chain {row['chain']}, which does not exist"
    return link_problem(row, tip)


def link_problem(row: dict[str, Any], tip: Tip) -> str:
    """What is wrong with ``row`` following ``tip`` in its chain ("" when it follows it)."""
    expected = tip.pos + 1
    if row["chain_pos"] > expected:
        missing = row["chain_pos"] - expected
        return f"{missing} event(s) of its chain are missing before it (from position {expected})"
    if row["chain_pos"] < expected:
        return f"its position repeats or goes back (the chain is already at {tip.pos})"
    if row["prev_hash"] != tip.hash:
        return "it does not link to the previous event of its chain"
    return ""


def _check_heads(report: Report, heads: dict[int, Any], tips: dict[int, Tip]) -> None:
    for chain, head in heads.items():
        tip = tips.get(chain, START)
        if head.length > tip.pos:
            report.problems.append(
                Problem(
                    f"missing: the chain ends at position {tip.pos} but its head records "
                    f"{head.length} events (events were removed from its end)",
                    chain=chain,
                    pos=tip.pos + 1,
                )
            )
        elif head.length < tip.pos:
            extra = AuditEvent.objects.filter(chain=chain, chain_pos=head.length + 1).first()
            report.problems.append(
                _at(vars(extra), f"the chain's head ends at position {head.length}: added later")
                if extra
                else Problem("the chain runs past its head", chain=chain, pos=head.length + 1)
            )
        elif head.hash != tip.hash:
            report.problems.append(
                Problem("the head's hash differs from the last event's", chain=chain, pos=tip.pos)
            )


def _checkpoint_rows(chunk: int) -> Iterator[AuditCheckpoint]:
    return in_chunks(AuditCheckpoint.objects.all(), key="number", chunk=chunk)


def _check_checkpoints(
    report: Report, heads: dict[int, Any], anchors: dict[int, AuditAnchor], chunk: int
) -> None:
    trusted = signing.trusted_public_keys()
    previous: AuditCheckpoint | None = None
    claims: dict[int, checkpoints.Claim] = {}
    unconfirmed = {(a.checkpoint, a.chain): a for a in anchors.values()}
    for checkpoint in _checkpoint_rows(chunk):
        report.checkpoints += 1
        payload, what = _signed_payload(checkpoint, previous, trusted)
        if not what:
            what = _claims_problem(payload, claims, anchors)
            claims = checkpoints.claims_of(payload)
            what = what or _anchors_problem(checkpoint.number, claims, unconfirmed)
        if what:
            report.problems.append(Problem(what, checkpoint=checkpoint.number))
            return
        previous = checkpoint
    for anchor in unconfirmed.values():
        report.problems.append(
            Problem(
                f"its anchor names checkpoint #{anchor.checkpoint}, which does not exist",
                chain=anchor.chain,
                pos=anchor.pos,
            )
        )
    signed = sum(c.pos for c in claims.values())
    report.unsigned = sum(h.length for h in heads.values()) - signed


def _signed_payload(
    checkpoint: AuditCheckpoint, previous: AuditCheckpoint | None, trusted: dict[str, bytes]
) -> tuple[dict[str, Any], str]:
    key = trusted.get(checkpoint.key_id)
    if key is None:
        return {}, f"signed by key {checkpoint.key_id!r}, which is not trusted"
    if not signing.signature_valid(key, checkpoint.signature, checkpoint.payload.encode()):
        return {}, "its signature does not match its contents (forged or altered)"
    payload = json.loads(checkpoint.payload)
    copies = (payload["number"], payload["key_id"], payload["created_at"])
    if copies != (checkpoint.number, checkpoint.key_id, hashing.timestamp(checkpoint.created_at)):
        return {}, "its columns differ from what was signed"
    expected = previous.number + 1 if previous else 1
    if checkpoint.number != expected:
        return {}, f"checkpoint #{expected} is missing before it"
    if payload["prev"] != (checkpoints.digest(previous.payload) if previous else ""):
        return {}, "it does not name the previous checkpoint"
    return payload, ""


def _anchors_problem(
    number: int,
    claims: dict[int, checkpoints.Claim],
    unconfirmed: dict[tuple[int, int], AuditAnchor],
) -> str:
    for (named, chain), anchor in list(unconfirmed.items()):
        if named != number:
            continue
        del unconfirmed[(named, chain)]
        if claims.get(chain) != checkpoints.Claim(chain, anchor.pos, anchor.seq, anchor.hash):
            return f"it did not sign the anchor of chain {chain} (position {anchor.pos})"
    return ""


def _anchored(claim: checkpoints.Claim, anchors: dict[int, AuditAnchor]) -> str | None:
    """None when the claim is about events still in the database; else the problem ("" for
    none) of a claim about the archived part, which the anchor stands for."""
    anchor = anchors.get(claim.chain)
    if anchor is None or claim.pos > anchor.pos:
        return None
    if claim.pos == anchor.pos and (claim.seq, claim.hash) != (anchor.seq, anchor.hash):
        return f"it signed chain {claim.chain} position {claim.pos} other than its anchor"
    return ""


def _claims_problem(
    payload: dict[str, Any],
    before: dict[int, checkpoints.Claim],
    anchors: dict[int, AuditAnchor],
) -> str:
    changed = []
    for claim in checkpoints.claims_of(payload).values():
        old = before.get(claim.chain)
        if old is not None and (claim.pos < old.pos or (claim.pos == old.pos and claim != old)):
            return f"chain {claim.chain} went back from position {old.pos} to {claim.pos}"
        anchored = _anchored(claim, anchors)
        if anchored:
            return anchored
        if claim != old and anchored is None:
            changed.append(claim)
    if not changed:
        return ""
    query = Q()
    for claim in changed:
        query |= Q(chain=claim.chain, chain_pos=claim.pos)
    found = {
        (c, p): (s, h)
        for c, p, s, h in AuditEvent.objects.filter(query).values_list(
            "chain", "chain_pos", "seq", "hash"
        )
    }
    for claim in changed:
        if found.get((claim.chain, claim.pos)) != (claim.seq, claim.hash):
            return (
                f"it signed chain {claim.chain} position {claim.pos} (seq {claim.seq}), "
                "which the log no longer holds as signed: an event at or before it was "
                "altered, removed or replaced since"
            )
    return ""
