"""1,000 random single-event tamperings made behind the application's back.

The attacker has database access: the append-only triggers are dropped (and, on PostgreSQL,
the unique chain position too), rows are changed with plain SQL through the base QuerySet,
and forged events carry correctly computed hashes. Each tampering is rolled back before the
next. Verification must fail every time and name the first bad event: the event itself, the
chain position that went missing, or the checkpoint.
"""

import json
import os
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection, models, transaction

from audit import checkpoints, guard, hashing
from audit.models import AuditChainHead, AuditCheckpoint, AuditEvent
from audit.services import Actor, record
from audit.verify import Problem, verify
from tests.audit.helpers import as_separate_transactions
from tests.factories import make_user
from vault import signing

SEED = int(os.environ.get("AUDIT_TAMPER_SEED", "8"))
ROUNDS = 1000
CHAINS = 4
EDITABLE = [f for f in hashing.HASHED_FIELDS if f != "seq"] + ["hash", "hash_version"]


@dataclass(frozen=True)
class Expect:
    kind: str
    seq: int | None = None
    chain: int | None = None
    pos: int | None = None
    checkpoint: int | None = None

    def named_by(self, problem: Problem) -> bool:
        if self.checkpoint is not None:
            return problem.checkpoint == self.checkpoint
        if self.seq is not None:
            return problem.seq == self.seq
        return (problem.chain, problem.pos) == (self.chain, self.pos)


@dataclass
class Log:
    events: list[AuditEvent]
    checkpoints: list[AuditCheckpoint]
    rng: random.Random
    attacker: signing.SigningKey

    def successor(self, event: AuditEvent) -> AuditEvent | None:
        return next(
            (
                e
                for e in self.events
                if (e.chain, e.chain_pos) == (event.chain, event.chain_pos + 1)
            ),
            None,
        )

    def last_of(self, chain: int) -> AuditEvent:
        return max((e for e in self.events if e.chain == chain), key=lambda e: e.chain_pos)

    def fresh_seq(self) -> int:
        return max(e.seq for e in self.events) + self.rng.randint(1, 5)


@pytest.fixture
def log(settings, db):
    settings.AUDIT_CHAINS = CHAINS
    rng = random.Random(SEED)
    users = [make_user() for _ in range(3)]
    projects = [uuid.uuid4() for _ in range(3)]
    for n in range(60):
        as_separate_transactions()
        actor = Actor(
            user=rng.choice([*users, None]),
            via=rng.choice(["session", "token", "system"]),
            ip=f"192.0.2.{rng.randint(1, 254)}",
            user_agent=f"agent/{n}",
            request_id=uuid.uuid4().hex,
        )
        record(
            actor=actor,
            action=rng.choice(["task.read", "annotation.submitted", "member.added"]),
            outcome=rng.choice(["success", "denied", "failure"]),
            project_id=rng.choice([*projects, None]),
            object_type="task",
            object_id=str(n),
            details={"n": n, "tags": ["a", "b"][: n % 3]},
        )
        if n % 20 == 19:
            checkpoints.checkpoint_create(force=True)
    events = list(AuditEvent.objects.order_by("seq"))
    assert len({e.chain for e in events}) == CHAINS
    attacker = signing.key_from_pem(signing.new_private_key_pem())
    return Log(events, list(AuditCheckpoint.objects.order_by("number")), rng, attacker)


def _update(at: int, **values) -> None:
    models.QuerySet.update(AuditEvent.objects.filter(seq=at), **values)


def _delete(**filters) -> None:
    rows = AuditEvent.objects.filter(**filters)
    rows._raw_delete(rows.db)


def _insert(**fields) -> None:
    AuditEvent.objects.bulk_create([AuditEvent(**fields)])


def _flip(text: str) -> str:
    if not text:
        return "0" * 64
    return ("1" if text[0] == "0" else "0") + text[1:]


_CHANGE: dict[str, Callable[[Any, random.Random], Any]] = {
    "event_id": lambda v, rng: uuid.uuid4(),
    "actor_id": lambda v, rng: uuid.uuid4(),
    "token_id": lambda v, rng: uuid.uuid4(),
    "project_id": lambda v, rng: uuid.uuid4(),
    "occurred_at": lambda v, rng: (
        v + timedelta(microseconds=rng.choice([-1, 1]) * rng.randint(1, 10**9))
    ),
    "outcome": lambda v, rng: rng.choice([o for o in ("success", "denied", "failure") if o != v]),
    "details": lambda v, rng: {**v, "n": -1},
    # Free positions: SQLite keeps its unique (chain, position) constraint.
    "chain": lambda v, rng: v + 1000,
    "chain_pos": lambda v, rng: v + 1000,
    "hash_version": lambda v, rng: 2,
    "prev_hash": lambda v, rng: _flip(v),
    "hash": lambda v, rng: _flip(v),
    "ip": lambda v, rng: "198.51.100.9",
}


def _changed(event: AuditEvent, field: str, rng: random.Random) -> Any:
    value = getattr(event, field)
    if field in _CHANGE:
        return _CHANGE[field](value, rng)
    return (value[:-1] + ("x" if value[-1:] != "x" else "y")) if value else "x"


def edit(log: Log) -> Expect:
    event, field = log.rng.choice(log.events), log.rng.choice(EDITABLE)
    _update(event.seq, **{field: _changed(event, field, log.rng)})
    return Expect(f"edit {field}", seq=event.seq)


def delete(log: Log) -> Expect:
    event = log.rng.choice(log.events)
    _delete(seq=event.seq)
    after = log.successor(event)
    if after is not None:
        return Expect("delete", seq=after.seq)
    return Expect("delete last", chain=event.chain, pos=event.chain_pos)


def _forged_fields(log: Log, chain: int, pos: int, prev: str) -> dict[str, Any]:
    model = log.rng.choice(log.events)
    fields = {name: getattr(model, name) for name in hashing.HASHED_FIELDS}
    fields.update(
        seq=log.fresh_seq(), event_id=uuid.uuid4(), chain=chain, chain_pos=pos, prev_hash=prev
    )
    return fields


def insert(log: Log) -> Expect:
    variants = ["valid end", "bad hash", "unknown chain", "before the first seq"]
    if connection.vendor == "postgresql":
        variants.append("repeated position")
    variant = log.rng.choice(variants)
    chain = log.rng.randrange(CHAINS)
    last = log.last_of(chain)
    if variant == "unknown chain":
        fields = _forged_fields(log, CHAINS + log.rng.randrange(4), 1, hashing.GENESIS)
    elif variant == "repeated position":
        target = log.rng.choice([e for e in log.events if e.chain == chain])
        before = target.prev_hash
        fields = _forged_fields(log, chain, target.chain_pos, before)
    else:
        fields = _forged_fields(log, chain, last.chain_pos + 1, last.hash)
    if variant == "before the first seq":
        fields["seq"] = -log.rng.randint(1, 100)
    digest = hashing.event_digest(fields)
    _insert(**fields, hash="f" * 64 if variant == "bad hash" else digest)
    return Expect(f"insert {variant}", seq=fields["seq"])


def reorder(log: Log) -> Expect:
    first, second = log.rng.sample(log.events, 2)
    spare = log.fresh_seq() + 1000
    _update(first.seq, seq=spare)
    _update(second.seq, seq=first.seq)
    _update(spare, seq=second.seq)
    return Expect("reorder", seq=min(first.seq, second.seq))


def truncate(log: Log) -> Expect:
    cut = log.rng.choice(log.events[len(log.events) // 3 :]).seq
    removed = [e for e in log.events if e.seq >= cut]
    _delete(seq__gte=cut)
    chain = min(e.chain for e in removed)
    pos = min(e.chain_pos for e in removed if e.chain == chain)
    return Expect("truncate", chain=chain, pos=pos)


def _resign(
    log: Log, checkpoint: AuditCheckpoint, payload: dict[str, Any], *, own_key_id: bool
) -> None:
    if own_key_id:
        payload["key_id"] = log.attacker.key_id
    text = hashing.canonical_json(payload).decode()
    values = {"payload": text, "signature": log.attacker.sign(text.encode())}
    if own_key_id:
        values["key_id"] = log.attacker.key_id
    models.QuerySet.update(AuditCheckpoint.objects.filter(pk=checkpoint.pk), **values)


def forge(log: Log) -> Expect:
    variant = log.rng.choice(
        ["edit claim", "re-sign", "re-sign own key", "append", "remove", "edit column"]
    )
    checkpoint = log.rng.choice(log.checkpoints)
    payload = json.loads(checkpoint.payload)
    head = log.rng.choice(payload["heads"])
    head["hash"] = _flip(head["hash"])
    rows = AuditCheckpoint.objects.filter(pk=checkpoint.pk)
    if variant == "edit claim":
        text = hashing.canonical_json(payload).decode()
        models.QuerySet.update(rows, payload=text)
    elif variant in {"re-sign", "re-sign own key"}:
        _resign(log, checkpoint, payload, own_key_id=variant == "re-sign own key")
    elif variant == "append":
        return _append_checkpoint(log)
    elif variant == "remove":
        checkpoint = log.rng.choice(log.checkpoints[:-1])
        rows = AuditCheckpoint.objects.filter(pk=checkpoint.pk)
        rows._raw_delete(rows.db)
        return Expect("forge remove", checkpoint=checkpoint.number + 1)
    else:
        models.QuerySet.update(rows, created_at=checkpoint.created_at + timedelta(seconds=1))
    return Expect(f"forge {variant}", checkpoint=checkpoint.number)


def _append_checkpoint(log: Log) -> Expect:
    last = log.checkpoints[-1]
    payload = json.loads(last.payload)
    payload.update(number=last.number + 1, prev=checkpoints.digest(last.payload))
    payload["key_id"] = log.rng.choice([log.attacker.key_id, last.key_id])
    text = hashing.canonical_json(payload).decode()
    AuditCheckpoint.objects.create(
        number=last.number + 1,
        created_at=last.created_at,
        payload=text,
        key_id=payload["key_id"],
        signature=log.attacker.sign(text.encode()),
    )
    return Expect("forge append", checkpoint=last.number + 1)


TAMPERINGS: list[Callable[[Log], Expect]] = [edit, delete, insert, reorder, truncate, forge]


def _act_as_attacker() -> None:
    guard.uninstall(connection)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ALTER TABLE audit_auditevent DROP CONSTRAINT audit_chain_position")


@pytest.mark.slow
def test_verification_catches_every_tampering_and_names_the_first_bad_event(log):
    assert verify().ok
    _act_as_attacker()
    missed, misnamed, kinds = [], [], set()
    for round_ in range(ROUNDS):
        with transaction.atomic():
            expect = TAMPERINGS[round_ % len(TAMPERINGS)](log)
            report = verify()
            transaction.set_rollback(True)
        kinds.add(expect.kind)
        if report.ok:
            missed.append(expect)
        elif not expect.named_by(report.problems[0]):
            misnamed.append((expect, str(report.problems[0])))
    assert missed == [], f"seed {SEED}: not detected"
    assert misnamed == [], f"seed {SEED}: wrong event named"
    assert len(kinds) > 20, sorted(kinds)
    assert verify().ok


def test_a_rewritten_chain_with_its_head_is_caught_by_the_checkpoint(log):
    """The stronger attacker recomputes every later hash and the head row: only the signed
    checkpoint still remembers the original."""
    _act_as_attacker()
    event = log.events[5]
    chain_events = [
        e for e in log.events if e.chain == event.chain and e.chain_pos >= event.chain_pos
    ]
    prev = event.prev_hash
    for original in sorted(chain_events, key=lambda e: e.chain_pos):
        fields = {name: getattr(original, name) for name in hashing.HASHED_FIELDS}
        if original.seq == event.seq:
            fields["action"] = "nothing.happened"
        fields["prev_hash"] = prev
        prev = hashing.event_digest(fields)
        _update(original.seq, action=fields["action"], prev_hash=fields["prev_hash"], hash=prev)
    models.QuerySet.update(AuditChainHead.objects.filter(chain=event.chain), hash=prev)
    report = verify()
    assert not report.ok
    assert report.problems[0].checkpoint == 1
    assert f"chain {event.chain}" in report.problems[0].what
