"""The faster paths of recording encode, hash and clean exactly as before."""

import hashlib
import json
import random
import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from audit import hashing
from audit.models import AuditEvent, Outcome
from audit.services import Actor, record
from audit.verify import verify
from tests.audit.helpers import recorded


def _canonical_by_dumps(value: Any) -> bytes:
    # The definition the stored hashes were made with.
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def test_canonical_json_is_json_dumps_with_the_canonical_options():
    values = [
        {"b": 1, "a": [1.5, None, True], "é": "日本\u2028", "z": {"y": '\\"', "x": -0.0}},
        [],
        "plain",
        1e-7,
        {"nested": [{"k": 2, "j": 1}, {"i": [[]]}]},
    ]
    for value in values:
        assert hashing.canonical_json(value) == _canonical_by_dumps(value)
    with pytest.raises(ValueError, match="JSON compliant"):
        hashing.canonical_json({"x": float("nan")})


def _fields(rng: random.Random) -> dict[str, Any]:
    east = timezone(timedelta(hours=5, minutes=30))
    return {
        "seq": rng.randint(1, 10**12),
        "event_id": uuid.uuid4(),
        "occurred_at": rng.choice([datetime.now(UTC), datetime.now(east)]),
        # A str subclass (the enum) and plain text: both must encode as their text.
        "action": rng.choice(["task.read", Outcome.DENIED]),
        "outcome": rng.choice([Outcome.SUCCESS, "failure"]),
        "actor_id": rng.choice([None, uuid.uuid4()]),
        "actor_label": rng.choice(["", "ann@example.com", 'naïve "quoted" \\']),
        "auth_method": "session",
        "token_id": rng.choice([None, uuid.uuid4()]),
        "project_id": uuid.uuid4(),
        "object_type": "annotation",
        "object_id": str(rng.randint(0, 10**9)),
        "ip": rng.choice(["", "192.0.2.7", "2001:db8::1"]),
        "user_agent": "python-httpx/0.27.0",
        "request_id": uuid.uuid4().hex,
        "details": {"task_id": str(uuid.uuid4()), "revision": rng.randint(1, 9), "ok": True},
        "chain": rng.randint(0, 63),
        "chain_pos": rng.randint(1, 10**9),
        "prev_hash": rng.choice(["", hashlib.sha256(b"x").hexdigest()]),
    }


def test_the_template_of_typical_events_hashes_as_verify_does():
    rng = random.Random(11)
    for _ in range(300):
        fields = _fields(rng)
        template = hashing.event_template(fields)
        digest = hashlib.sha256(template.filled(fields)).hexdigest()
        assert digest == hashing.event_digest(fields)
        document = {"v": hashing.HASH_VERSION}
        document.update({name: hashing.plain(fields[name]) for name in hashing.HASHED_FIELDS})
        assert template.filled(fields) == _canonical_by_dumps(document)


def test_a_recorded_event_is_stored_as_hashed(db):
    actor = Actor(via="session", ip="2001:db8::1", user_agent="ua", request_id="r-1")
    project_id = uuid.uuid4()
    stored = recorded(
        actor=actor,
        action="task.read",
        project_id=project_id,
        object_type="task",
        object_id="7",
        details={"via": "next", "n": 2, "ratio": 0.5},
    )
    assert (stored.action, stored.project_id, stored.object_type, stored.object_id) == (
        "task.read",
        project_id,
        "task",
        "7",
    )
    assert (stored.ip, stored.user_agent, stored.request_id) == ("2001:db8::1", "ua", "r-1")
    assert stored.details == {"via": "next", "n": 2, "ratio": 0.5}
    fields = {name: getattr(stored, name) for name in hashing.HASHED_FIELDS}
    assert hashing.event_digest(fields) == stored.hash
    assert verify().ok


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("::ffff:192.0.2.7", "192.0.2.7"),
        (" 192.0.2.8 ", "192.0.2.8"),
        ("2001:DB8:0:0::1", "2001:db8::1"),
        ("not an address\r\nforged: yes", "not an address\ufffd\ufffdforged: yes"),
        ("", ""),
        (None, ""),
    ],
)
def test_addresses_are_cleaned_alike_however_often_they_come(db, given, stored):
    for _ in range(3):
        assert recorded(actor=Actor(via="session", ip=given), action="test.done").ip == stored
    assert set(AuditEvent.objects.values_list("ip", flat=True)) == {stored}
    assert verify().ok


def test_an_unknown_outcome_is_still_refused_before_anything_is_written(db):
    with pytest.raises(ValueError, match="outcome must be one of"):
        record(actor=Actor.system("cli"), action="test.done", outcome="partial")
    assert not AuditEvent.objects.exists()
    for outcome in Outcome:
        assert recorded(actor=Actor.system("cli"), action="test.done", outcome=outcome).outcome
    assert verify().ok
