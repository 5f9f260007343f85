import io

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, models

from audit import guard
from audit.checkpoints import checkpoint_create
from audit.models import AuditEvent
from audit.verify import verify
from tests.audit.helpers import record_many
from vault import signing


def _verify_command() -> str:
    out = io.StringIO()
    call_command("audit_verify", stdout=out)
    return out.getvalue()


def test_an_untouched_log_is_reported_intact_with_its_counts(db, settings):
    settings.AUDIT_CHAINS = 3
    record_many(12)
    checkpoint_create(force=True)
    record_many(2)
    assert _verify_command().strip() == (
        "intact: 14 events in 3 chains, 1 signed checkpoints, "
        "2 events recorded since the last checkpoint"
    )


def test_an_empty_log_is_intact(db):
    assert "intact: 0 events" in _verify_command()


def test_a_broken_log_fails_the_command_and_names_the_first_bad_event(db):
    events = record_many(6, spread=1)
    guard.uninstall(connection)
    for event in (events[2], events[4]):
        models.QuerySet.update(AuditEvent.objects.filter(seq=event.seq), object_id="forged")
    err = io.StringIO()
    with pytest.raises(CommandError) as failure:
        call_command("audit_verify", stderr=err)
    assert failure.value.returncode == 1
    assert err.getvalue().startswith(f"BROKEN: event seq {events[2].seq} (id {events[2].event_id}")
    assert "the event was altered" in err.getvalue()


def test_reading_in_tiny_chunks_gives_the_same_answer(db, settings):
    settings.AUDIT_CHAINS = 2
    record_many(9)
    checkpoint_create(force=True)
    record_many(4)
    checkpoint_create(force=True)
    whole, chunked = verify(), verify(chunk=1)
    assert (chunked.ok, chunked.events, chunked.checkpoints) == (True, 13, 2)
    assert (whole.events, whole.unsigned) == (chunked.events, chunked.unsigned) == (13, 0)


def test_checkpoints_of_a_retired_key_need_its_public_key_listed(db, settings, tmp_path):
    record_many(3)
    retired = signing.signing_key()
    checkpoint_create(force=True)
    new_key = tmp_path / "new.pem"
    new_key.write_bytes(signing.new_private_key_pem())
    settings.AUDIT_SIGNING_KEY_FILE = str(new_key)
    record_many(2)
    checkpoint_create(force=True)
    report = verify()
    assert not report.ok
    assert report.problems[0].checkpoint == 1
    assert "not trusted" in report.problems[0].what
    settings.AUDIT_TRUSTED_PUBLIC_KEYS = [retired.public_b64]
    assert verify().ok


def test_a_missing_end_of_a_chain_is_caught_before_any_checkpoint(db):
    events = record_many(4, spread=1)
    guard.uninstall(connection)
    rows = AuditEvent.objects.filter(seq=events[-1].seq)
    rows._raw_delete(rows.db)
    report = verify()
    problem = report.problems[0]
    assert (problem.chain, problem.pos) == (events[-1].chain, 4)
    assert "removed from its end" in problem.what
