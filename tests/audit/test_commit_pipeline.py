"""On PostgreSQL an event waits for its transaction's commit and goes in the same round trip
(``audit.chain``, ``core.postgres``): it is written exactly when the transaction commits,
never when it rolls back, and a failure to write it fails the commit."""

import pytest
from django.db import DatabaseError, connection, transaction

from audit import chain
from audit.models import AuditChainHead, AuditEvent
from audit.services import Actor, record
from audit.verify import verify
from projects.models import Project
from projects.services import project_create
from tests.audit.helpers import heads_known
from tests.factories import CLASSIFICATION_SCHEMA

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _postgresql():
    if connection.vendor != "postgresql":
        pytest.skip("SQLite appends at once: there is no round trip to save")
    heads_known()


def _actions() -> list[str]:
    return list(AuditEvent.objects.order_by("seq").values_list("action", flat=True))


def _waiting() -> bool:
    return getattr(connection, "deferred", None) is not None


def test_an_event_waits_for_the_commit_and_is_written_by_it():
    with transaction.atomic():
        record(actor=Actor.system("cli"), action="test.done")
        assert _waiting()
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM audit_auditevent")
            assert cursor.fetchone()[0] == 1  # only the setup's event is in the table yet
    assert not _waiting()
    assert _actions() == ["test.first", "test.done"]
    report = verify()
    assert report.ok, report.problems


class Undone(Exception):
    pass


def _record_then_fail(action: str) -> None:
    with transaction.atomic():
        record(actor=Actor.system("cli"), action=action)
        raise Undone


def _record_in_released_savepoint_then_fail(action: str) -> None:
    with transaction.atomic():
        with transaction.atomic():
            record(actor=Actor.system("cli"), action=action)
        assert _waiting()  # released, not rolled back: this block's now
        raise Undone


def test_a_rolled_back_transaction_drops_its_waiting_event():
    with pytest.raises(Undone):
        _record_then_fail("test.rolled_back")
    assert not _waiting()
    assert _actions() == ["test.first"]


def test_a_rolled_back_savepoint_drops_the_event_recorded_in_it_only():
    with transaction.atomic():
        record(actor=Actor.system("cli"), action="test.before")
        with pytest.raises(Undone):
            _record_then_fail("test.inside")  # its savepoint first writes test.before
        assert not _waiting()
        with pytest.raises(Undone):
            _record_in_released_savepoint_then_fail("test.deeper")
        assert not _waiting()
        record(actor=Actor.system("cli"), action="test.after")
    assert _actions() == ["test.first", "test.before", "test.after"]
    assert verify().ok


def test_reading_the_log_in_the_transaction_writes_its_waiting_event_first():
    with transaction.atomic():
        event_id = record(actor=Actor.system("cli"), action="test.done")
        event = AuditEvent.objects.get(event_id=event_id)
        assert not _waiting()
        assert AuditChainHead.objects.get(chain=event.chain).seq == event.seq
    assert _actions() == ["test.first", "test.done"]


def _create_project_whose_event_id_is_taken(admin: object) -> None:
    taken = AuditEvent.objects.get().event_id
    with transaction.atomic():
        project_create(
            actor=Actor.system(user=admin), name="Doomed", label_schema=CLASSIFICATION_SCHEMA
        )
        # The waiting event now has an id already in the log: its insert fails, at commit.
        waiting = getattr(connection, "deferred", None)
        assert isinstance(waiting, chain._Queued)
        waiting.fields["event_id"] = taken


def test_an_event_that_cannot_be_written_fails_the_commit_and_the_action_with_it(admin):
    with pytest.raises(DatabaseError, match="event_id"):
        _create_project_whose_event_id_is_taken(admin)
    assert not Project.objects.filter(name="Doomed").exists()
    assert _actions() == ["test.first"]
    record(actor=Actor.system("cli"), action="test.after")  # the connection is usable
    assert _actions() == ["test.first", "test.after"]
    assert verify().ok


def test_a_missing_head_row_fails_the_commit_and_writes_nothing():
    record(actor=Actor.system("cli"), action="test.second")
    heads = list(AuditChainHead.objects.all())
    AuditChainHead.objects.all().delete()  # behind the app's back: the heads are not guarded
    with pytest.raises(DatabaseError, match="division by zero"):
        record(actor=Actor.system("cli"), action="test.lost")
    assert _actions() == ["test.first", "test.second"]
    assert not chain._process.heads_created  # looked up again by the next event
    AuditChainHead.objects.bulk_create(heads)
    record(actor=Actor.system("cli"), action="test.after")
    assert _actions() == ["test.first", "test.second", "test.after"]
    assert verify().ok


def test_the_statement_reports_the_time_the_server_spent_on_it():
    chain.spent.measuring = True
    try:
        before = chain.spent.server_s, chain.spent.round_trip_s
        with transaction.atomic():
            record(actor=Actor.system("cli"), action="test.done")
        server = chain.spent.server_s - before[0]
        round_trip = chain.spent.round_trip_s - before[1]
    finally:
        chain.spent.measuring = False
    assert 0 < server < round_trip


def _create_heads_then_fail() -> None:
    with transaction.atomic():
        record(actor=Actor.system("cli"), action="test.creates")  # creates the new heads
        record(actor=Actor.system("cli"), action="test.sees")  # sees them: its own, uncommitted
        raise Undone


def test_head_rows_seen_in_a_transaction_that_rolls_back_are_not_trusted(settings):
    # More chains than the heads made so far: the next event creates the missing ones.
    settings.AUDIT_CHAINS = AuditChainHead.objects.count() + 4
    chain.forget_heads()
    with pytest.raises(Undone):
        _create_heads_then_fail()
    assert not chain._process.heads_created  # the rows it saw are gone with it
    assert AuditChainHead.objects.count() == settings.AUDIT_CHAINS - 4
    record(actor=Actor.system("cli"), action="test.creates")  # at once, and commits them
    record(actor=Actor.system("cli"), action="test.sees")  # sees them committed
    assert chain._process.heads_created
    record(actor=Actor.system("cli"), action="test.waits")
    assert _actions()[-3:] == ["test.creates", "test.sees", "test.waits"]
    assert verify().ok
