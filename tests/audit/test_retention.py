import io
import json
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from audit import retention
from audit.checkpoints import checkpoint_create
from audit.models import AuditAnchor, AuditEvent
from audit.retention import archive_old_events, verify_archive
from audit.services import Actor
from audit.verify import verify
from core.errors import Conflict
from tests.audit.helpers import record_many
from vault import config, signing
from vault.keys import LAB_KEY_ID

pytestmark = pytest.mark.django_db
ACTOR = Actor.system("test")


@pytest.fixture
def old_log(settings, monkeypatch):
    """12 events signed by a checkpoint, 5 unsigned ones, and a clock 31 days later."""
    settings.AUDIT_CHAINS = 3
    signed = record_many(12)
    checkpoint_create(force=True)
    unsigned = record_many(5)
    _days_later(monkeypatch, 31)
    return signed, unsigned


def _days_later(monkeypatch, days):
    later = timezone.now() + timedelta(days=days)
    monkeypatch.setattr(timezone, "now", lambda: later)


def _archive(days=30):
    return archive_old_events(older_than_days=days, actor=ACTOR)


def _ids(events):
    return {e.event_id for e in events}


def _remaining():
    return set(AuditEvent.objects.values_list("event_id", flat=True))


def _rewrite_archive(name, change):
    store = config.blob_store()
    lines = store.open(project_id=LAB_KEY_ID, name=name).read().splitlines(keepends=True)
    store.put(project_id=LAB_KEY_ID, name=name, source=b"".join(change(lines)))


def test_archiving_writes_a_verifiable_archive_and_prunes_the_signed_events(old_log):
    signed, unsigned = old_log
    result = _archive()
    assert (result.events, result.chains, result.checkpoint) == (12, 3, 1)
    report = verify_archive(name=result.name)
    assert report.ok, report.problems
    assert (report.events, report.checkpoint, len(report.segments)) == (12, 1, 3)
    assert not _ids(signed) & _remaining()
    assert _ids(unsigned) <= _remaining()
    archived = AuditEvent.objects.get(action="audit.archived")
    assert archived.object_id == result.name
    assert archived.details == {"checkpoint": 1, "events": 12, "chains": 3}


def test_the_remaining_chains_verify_from_their_trusted_anchors(old_log):
    _archive()
    report = verify()
    assert report.ok, [str(p) for p in report.problems]
    assert report.events == 6
    assert sorted(a.chain for a in report.anchors) == [0, 1, 2]
    out = io.StringIO()
    call_command("audit_verify", stdout=out)
    assert out.getvalue().count("trusted anchor: chain") == 3
    assert "intact: 6 events" in out.getvalue()


def test_a_second_archive_continues_from_the_first_anchor(old_log, monkeypatch):
    first = _archive()
    record_many(4)
    checkpoint_create(force=True)
    _days_later(monkeypatch, 31)
    second = _archive()
    assert second.events == 5 + 1 + 4  # the unsigned ones, audit.archived, the new ones
    report = verify_archive(name=second.name)
    assert report.ok, report.problems
    anchors = {a.chain: a for a in AuditAnchor.objects.filter(archive=first.name)}
    for segment in report.segments:
        if segment.chain in anchors:
            assert segment.start.hash == anchors[segment.chain].hash
    assert verify().ok


def test_an_altered_ciphertext_is_detected(old_log, settings):
    name = _archive().name
    path = settings.LABELKEEP_BLOB_DIR / "lab" / name
    data = bytearray(path.read_bytes())
    data[-40] ^= 1
    path.write_bytes(bytes(data))
    report = verify_archive(name=name)
    assert not report.ok
    assert "does not decrypt" in report.problems[0]


def test_an_archive_re_encrypted_with_an_altered_event_is_detected(old_log):
    name = _archive().name

    def alter(lines):
        event = json.loads(lines[2])
        event["action"] = "nothing.happened"
        return [*lines[:2], json.dumps(event).encode() + b"\n", *lines[3:]]

    _rewrite_archive(name, alter)
    report = verify_archive(name=name)
    assert len(report.problems) == 1
    assert report.problems[0].endswith("its contents do not match its hash: the event was altered")
    with pytest.raises(CommandError):
        call_command("audit_verify", archive=name, stderr=io.StringIO())


def test_an_archive_missing_an_event_is_detected(old_log):
    name = _archive().name
    _rewrite_archive(name, lambda lines: [*lines[:3], *lines[4:]])
    assert not verify_archive(name=name).ok


def test_a_crash_before_pruning_leaves_every_event_and_a_rerun_prunes_them(old_log, monkeypatch):
    signed, _unsigned = old_log

    def crash(**kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(retention, "_prune", crash)
    with pytest.raises(KeyboardInterrupt):
        _archive()
    monkeypatch.undo()
    assert _ids(signed) <= _remaining()
    assert verify().ok
    _days_later(monkeypatch, 31)
    assert _archive().events == 12
    assert not _ids(signed) & _remaining()
    assert verify().ok


def test_a_crash_while_pruning_rolls_back_the_anchors_and_the_event(old_log, monkeypatch):
    signed, _unsigned = old_log

    def crash(segment):
        raise KeyboardInterrupt

    monkeypatch.setattr(retention, "_delete", crash)
    with pytest.raises(KeyboardInterrupt):
        _archive()
    assert _ids(signed) <= _remaining()
    assert not AuditAnchor.objects.exists()
    assert not AuditEvent.objects.filter(action="audit.archived").exists()


def test_archiving_again_is_a_no_op(old_log):
    _archive()
    count = AuditEvent.objects.count()
    assert _archive().events == 0
    assert AuditEvent.objects.count() == count


def test_retention_zero_archives_nothing(old_log, settings):
    settings.AUDIT_RETENTION_DAYS = 0
    out = io.StringIO()
    call_command("audit_archive", stdout=out)
    assert "nothing archived" in out.getvalue()
    assert _archive(days=0).events == 0
    assert AuditEvent.objects.count() == 17
    assert not config.blob_store().names(project_id=LAB_KEY_ID)


def test_events_newer_than_the_period_are_kept(old_log):
    assert _archive(days=60).events == 0
    assert AuditEvent.objects.count() == 17


def test_events_a_siem_has_not_received_are_kept(old_log, settings, tmp_path):
    settings.AUDIT_SHIP_TO = [(tmp_path / "siem.jsonl").as_uri()]
    assert _archive().events == 0


def test_the_command_archives_with_the_configured_period(old_log, settings):
    settings.AUDIT_RETENTION_DAYS = 30
    out = io.StringIO()
    call_command("audit_archive", stdout=out)
    assert "archived 12 events of 3 chains" in out.getvalue()
    out = io.StringIO()
    call_command("audit_verify", archive=retention.archive_name(1), stdout=out)
    assert "intact: audit/archive-0000000001.jsonl: 12 events of 3 chains" in out.getvalue()


def test_a_removed_anchor_is_detected(old_log):
    _archive()
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditanchor WHERE chain = 1")
    report = verify()
    assert not report.ok
    assert "missing" in str(report.first)


def test_an_anchor_signed_by_an_untrusted_key_is_refused(old_log):
    _archive()
    forger = signing.key_from_pem(signing.new_private_key_pem())
    anchor = AuditAnchor.objects.get(chain=2)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE audit_auditanchor SET key_id = %s, signature = %s WHERE id = %s",
            [forger.key_id, forger.sign(anchor.payload.encode()), anchor.pk],
        )
    report = verify()
    assert "not signed by a trusted key" in str(report.first)


def test_the_lab_key_and_its_files_outlive_any_project_deletion(old_log):
    _archive()
    with pytest.raises(Conflict):
        config.project_keys().destroy(LAB_KEY_ID)
    with pytest.raises(ValueError, match="cannot be purged"):
        config.blob_store().purge_project(project_id=LAB_KEY_ID)
    assert config.blob_store().names(project_id=LAB_KEY_ID) == [retention.archive_name(1)]


def test_the_periodic_job_archives_with_the_configured_period_and_not_when_off(old_log, settings):
    from audit.tasks import audit_archive

    settings.AUDIT_RETENTION_DAYS = 0
    audit_archive.delay()
    assert AuditEvent.objects.count() == 17
    settings.AUDIT_RETENTION_DAYS = 30
    audit_archive.delay()
    assert _ids(old_log[0]).isdisjoint(_remaining())
    assert "audit-archive" in settings.CELERY_BEAT_SCHEDULE
