from typing import Any

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction

from audit import guard
from audit.checkpoints import checkpoint_create
from audit.models import AppendOnlyError, AuditCheckpoint, AuditEvent
from tests.audit.helpers import record_many


@pytest.fixture
def events(db):
    return record_many(3)


def _raw(sql: str, params: list[Any] | None = None) -> None:
    # A savepoint, so the refused statement leaves the test's transaction usable.
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params or [])


def test_the_orm_refuses_to_update_an_event(events):
    event = events[0]
    event.action = "rewritten"
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.filter(seq=event.seq).update(action="rewritten")
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.bulk_update([event], ["action"])
    assert AuditEvent.objects.get(seq=event.seq).action == "test.done"


def test_the_orm_refuses_to_delete_an_event(events):
    with pytest.raises(AppendOnlyError):
        events[0].delete()
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.all().delete()
    assert AuditEvent.objects.count() == 3


def test_the_orm_refuses_to_change_a_checkpoint(events):
    checkpoint = checkpoint_create(force=True)
    assert checkpoint is not None
    with pytest.raises(AppendOnlyError):
        AuditCheckpoint.objects.update(signature="forged")
    with pytest.raises(AppendOnlyError):
        checkpoint.delete()


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE audit_auditevent SET action = 'rewritten'",
        "UPDATE audit_auditevent SET hash = prev_hash",
        "DELETE FROM audit_auditevent",
        "DELETE FROM audit_auditevent WHERE seq = (SELECT MAX(seq) FROM audit_auditevent)",
    ],
)
def test_the_database_refuses_raw_updates_and_deletes_of_events(events, sql):
    with pytest.raises(DatabaseError, match="append-only"):
        _raw(sql)
    assert AuditEvent.objects.count() == 3
    assert set(AuditEvent.objects.values_list("action", flat=True)) == {"test.done"}


@pytest.mark.parametrize(
    "sql",
    ["UPDATE audit_auditcheckpoint SET signature = 'forged'", "DELETE FROM audit_auditcheckpoint"],
)
def test_the_database_refuses_raw_changes_to_checkpoints(events, sql):
    checkpoint_create(force=True)
    with pytest.raises(DatabaseError, match="append-only"):
        _raw(sql)
    assert AuditCheckpoint.objects.count() == 1


def test_postgresql_refuses_truncate(events):
    if connection.vendor != "postgresql":
        pytest.skip("TRUNCATE is PostgreSQL's")
    with pytest.raises(DatabaseError, match="append-only"):
        _raw("TRUNCATE audit_auditevent")


def test_unlocking_allows_deletion_but_never_update(events):
    with transaction.atomic(), guard.unlocked():
        with pytest.raises(DatabaseError, match="append-only"):
            _raw("UPDATE audit_auditevent SET action = 'rewritten'")
        _raw("DELETE FROM audit_auditevent WHERE seq = %s", [events[0].seq])
    assert AuditEvent.objects.count() == 2
    with pytest.raises(DatabaseError, match="append-only"):
        _raw("DELETE FROM audit_auditevent")


def test_unlocking_needs_a_transaction():
    with pytest.raises(transaction.TransactionManagementError), guard.unlocked():
        pass


def test_the_triggers_are_installed_after_migrating(db):
    assert guard.installed(connection)


@pytest.mark.django_db(transaction=True)
def test_flush_still_empties_the_database():
    record_many(2)
    call_command("flush", interactive=False, verbosity=0)
    assert AuditEvent.objects.count() == 0
    record_many(1)
    with pytest.raises(DatabaseError, match="append-only"):
        _raw("DELETE FROM audit_auditevent")
