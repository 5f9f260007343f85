import hashlib
import itertools
import random
import threading
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from audit import hashing
from audit.models import AuditChainHead, AuditEvent
from audit.services import Actor, record
from audit.verify import verify
from core.errors import Conflict
from projects import services
from tests.audit.helpers import as_separate_transactions, record_many, recorded


def test_each_event_links_to_the_previous_one_of_its_chain(db, settings):
    settings.AUDIT_CHAINS = 4
    record_many(40)
    by_chain: dict[int, list[AuditEvent]] = {}
    for event in AuditEvent.objects.order_by("seq"):
        by_chain.setdefault(event.chain, []).append(event)
    assert len(by_chain) > 1
    for events in by_chain.values():
        assert [e.chain_pos for e in events] == list(range(1, len(events) + 1))
        assert events[0].prev_hash == hashing.GENESIS
        for before, after in itertools.pairwise(events):
            assert after.prev_hash == before.hash
            assert after.seq > before.seq


def test_stored_hash_is_the_digest_of_the_stored_fields(db):
    event = recorded(actor=Actor.system("cli"), action="test.done", details={"a": [1, "two"]})
    fields = {name: getattr(event, name) for name in hashing.HASHED_FIELDS}
    assert hashing.event_digest(fields) == event.hash


def _awkward_text(rng: random.Random) -> str:
    pieces = ['"', "\\", "hole-", "chain", '"seq":', "naïve", "日本", "\u2028", "}", "{", " ", "x"]
    return "".join(rng.choice(pieces) for _ in range(rng.randint(0, 12)))


def test_the_template_the_database_fills_encodes_exactly_what_verify_hashes():
    rng = random.Random(8)
    for _ in range(300):
        fields: dict[str, Any] = {name: _awkward_text(rng) for name in hashing.HASHED_FIELDS}
        fields.update(
            seq=rng.randint(1, 10**12),
            event_id=uuid.uuid4(),
            occurred_at=datetime.now(UTC),
            actor_id=rng.choice([None, uuid.uuid4()]),
            token_id=None,
            project_id=uuid.uuid4(),
            details={_awkward_text(rng): [_awkward_text(rng), rng.random(), None, {"seq": 1}]},
            chain=rng.randint(0, 63),
            chain_pos=rng.randint(1, 10**9),
            prev_hash=rng.choice(["", hashlib.sha256(b"x").hexdigest()]),
        )
        template = hashing.event_template(fields)
        digest = hashlib.sha256(template.filled(fields)).hexdigest()
        assert digest == hashing.event_digest(fields)


def test_an_event_is_appended_in_one_statement_on_postgresql_and_three_on_sqlite(db):
    record(actor=Actor.system("cli"), action="test.first")  # the chain heads exist
    as_separate_transactions()
    with CaptureQueriesContext(connection) as captured:
        record(actor=Actor.system("cli"), action="test.done")
    statements = [q["sql"] for q in captured.captured_queries if "SAVEPOINT" not in q["sql"]]
    assert len(statements) == (1 if connection.vendor == "postgresql" else 3), statements
    assert verify().ok


def test_events_of_one_transaction_stay_on_one_chain(db, settings):
    settings.AUDIT_CHAINS = 16
    as_separate_transactions()
    with transaction.atomic():
        events = [record(actor=Actor.system(f"actor{n}"), action="test.done") for n in range(10)]
    assert AuditEvent.objects.filter(event_id__in=events).values("chain").distinct().count() == 1


def test_the_head_row_follows_the_newest_event(db):
    events = record_many(5, spread=1)
    head = AuditChainHead.objects.get(chain=events[-1].chain)
    assert (head.length, head.seq, head.hash) == (5, events[-1].seq, events[-1].hash)


def test_a_rolled_back_action_leaves_no_event_and_the_chain_stays_intact(admin, project):
    record_many(3, spread=1)
    before = AuditEvent.objects.count()
    with pytest.raises(Conflict):
        # The last manager cannot be removed: the service refuses inside its transaction.
        services.member_remove(actor=Actor.system(user=admin), project=project, user=admin)
    assert AuditEvent.objects.count() == before
    with pytest.raises(RuntimeError, match="failed after recording"):
        _record_then_fail()
    assert not AuditEvent.objects.filter(action="test.rolled_back").exists()
    record_many(2, spread=1)
    assert verify().ok


@transaction.atomic
def _record_then_fail() -> None:
    record(actor=Actor.system("cli"), action="test.rolled_back")
    raise RuntimeError("the action failed after recording")


def test_details_read_back_exactly_as_they_were_hashed(db):
    awkward = {
        "big": 1e20,
        "small": 1e-7,
        "negative_zero": -0.0,
        "ratio": 0.1,
        "integral": 2.0,
        "id": uuid.uuid4(),
        "nested": {"z": [1, {"y": None}], "a": True},
        "text": "naïve — 日本語 \u2028 line separator",
    }
    stored = recorded(actor=Actor.system("cli"), action="test.done", details=awkward)
    assert stored.details == {
        **awkward,
        "id": str(awkward["id"]),
        "text": "naïve — 日本語 \ufffd line separator",
    }
    assert "\u2028" not in stored.details["text"]
    assert verify().ok


def test_details_refuse_not_a_number(db):
    with pytest.raises(ValueError, match="NaN"):
        record(actor=Actor.system("cli"), action="test.done", details={"x": float("nan")})


def test_ids_given_as_text_are_hashed_as_the_database_returns_them(db):
    project_id = uuid.uuid4()
    # A caller passing text despite the annotation still gets a verifiable event.
    upper = str(project_id).upper()
    record(actor=Actor.system("cli"), action="test.done", project_id=upper)  # type: ignore[arg-type]
    assert AuditEvent.objects.get().project_id == project_id
    assert verify().ok


def test_ipv4_mapped_addresses_are_stored_as_ipv4(db):
    actor = Actor(via="session", ip="::ffff:192.0.2.7")
    assert recorded(actor=actor, action="test.done").ip == "192.0.2.7"
    assert verify().ok


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_never_fork_a_chain(settings):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite's in-memory test database reports table locks instead of waiting")
    settings.AUDIT_CHAINS = 3
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            for i in range(15):
                with transaction.atomic():
                    record(actor=Actor.system(f"writer{n}"), action="test.done", details={"i": i})
                    record(actor=Actor.system(f"writer{n}"), action="test.more")
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert AuditEvent.objects.count() == 6 * 15 * 2
    report = verify()
    assert report.ok, report.problems
    assert report.chains == 3


def test_an_unknown_outcome_is_a_programming_error(db):
    with pytest.raises(ValueError, match="outcome"):
        record(actor=Actor.system("cli"), action="test.done", outcome="maybe")
