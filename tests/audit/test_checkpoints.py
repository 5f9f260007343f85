import json
import stat
from datetime import timedelta

import pytest
from django.core.exceptions import ImproperlyConfigured

from audit import chain, checkpoints
from audit.checkpoints import checkpoint_create
from audit.models import AuditCheckpoint
from audit.services import Actor, record
from tests.audit.helpers import record_many
from vault import signing


def _sign() -> AuditCheckpoint:
    checkpoint = checkpoint_create(force=True)
    assert checkpoint is not None
    return checkpoint


def test_a_checkpoint_signs_every_chain_head(db, settings, audit_key):
    settings.AUDIT_CHAINS = 3
    events = record_many(9)
    checkpoint = _sign()
    payload = json.loads(checkpoint.payload)
    newest = {}
    for event in events:
        newest[event.chain] = event
    assert payload["heads"] == [
        {"chain": c, "pos": e.chain_pos, "seq": e.seq, "hash": e.hash}
        for c, e in sorted(newest.items())
    ]
    assert (payload["number"], payload["prev"], payload["key_id"]) == (1, "", audit_key.key_id)
    public = signing.trusted_public_keys()[audit_key.key_id]
    assert signing.signature_valid(public, checkpoint.signature, checkpoint.payload.encode())


def test_each_checkpoint_names_the_digest_of_the_one_before(db):
    record_many(2)
    first = _sign()
    record_many(1)
    second = _sign()
    assert json.loads(second.payload)["prev"] == checkpoints.digest(first.payload)
    assert second.number == 2


def test_nothing_new_means_no_checkpoint(db):
    record_many(2)
    _sign()
    assert checkpoint_create(force=True) is None


def test_a_checkpoint_is_due_after_n_events(db, settings):
    settings.AUDIT_CHECKPOINT_EVERY_EVENTS = 5
    record_many(1)
    assert checkpoint_create() is not None  # the first one is always due
    record_many(4)
    assert checkpoint_create() is None
    record_many(1)
    assert checkpoint_create() is not None


def test_a_checkpoint_is_due_after_m_minutes(db, settings, monkeypatch):
    settings.AUDIT_CHECKPOINT_EVERY_MINUTES = 5
    record_many(1)
    first = _sign()
    record_many(1)
    assert checkpoint_create() is None
    later = first.created_at + timedelta(minutes=5)
    monkeypatch.setattr("django.utils.timezone.now", lambda: later)
    assert checkpoint_create() is not None


def test_recording_asks_for_a_checkpoint_after_commit(
    db, settings, django_capture_on_commit_callbacks
):
    settings.AUDIT_CHECKPOINT_EVERY_EVENTS = 8  # the process asks every 8 // 8 = 1 event
    chain._held.clear()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        record(actor=Actor.system("cli"), action="test.done")
    assert len(callbacks) == 1
    assert AuditCheckpoint.objects.count() == 1


def test_a_generated_key_is_private_to_its_owner(db, settings, tmp_path):
    settings.AUDIT_SIGNING_KEY_FILE = ""
    settings.VAR_DIR = tmp_path
    key = signing.signing_key()
    path = tmp_path / "audit_signing_key.pem"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert signing.signing_key() == key
    assert signing.key_from_pem(path.read_bytes()).key_id == key.key_id


def test_a_configured_key_file_must_exist_and_be_ed25519(db, settings, tmp_path):
    settings.AUDIT_SIGNING_KEY_FILE = str(tmp_path / "missing.pem")
    with pytest.raises(ImproperlyConfigured, match="cannot be read"):
        signing.signing_key()
    assert not (tmp_path / "missing.pem").exists()


def test_a_trusted_public_key_must_be_an_ed25519_key(settings):
    settings.AUDIT_TRUSTED_PUBLIC_KEYS = ["bm90IGEga2V5"]
    with pytest.raises(ImproperlyConfigured, match="not a base64 Ed25519 public key"):
        signing.trusted_public_keys()
