"""Fixtures of the vault tests (every test's vault directories come from the root conftest).

The S3/KMS server is not started here: tests that need it ask for ``moto_endpoint``.
"""

import uuid
from collections.abc import Sequence

import pytest
from django.db import connection, models

# Each test's keyring, key store and files are under its tmp_path: `vault_dirs`, an autouse
# fixture of the root conftest.
from tests.s3 import aws_env, moto_endpoint, s3_bucket  # noqa: F401  (fixtures)


class SealedNote(models.Model):
    """A test-only table of sealed values, standing in for the sealed columns later apps add.

    Its app is not installed, so migrations never see it; the table is created once per run.
    """

    project_id = models.UUIDField(db_index=True)
    body = models.BinaryField(null=True)
    objects: "models.Manager[SealedNote]" = models.Manager()

    class Meta:
        app_label = "vaulttests"
        db_table = "vaulttests_sealednote"

    def __str__(self) -> str:
        return f"note {self.pk}"


@pytest.fixture(scope="session")
def _sealed_note_table(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock(), connection.schema_editor() as editor:
        editor.create_model(SealedNote)


@pytest.fixture
def notes(_sealed_note_table, request):
    # Works for transactional tests too (which commit): rows are removed afterwards.
    if "transactional_db" not in request.fixturenames:
        request.getfixturevalue("db")
    yield SealedNote
    SealedNote.objects.all().delete()


def seal_notes(project_id: uuid.UUID, values: Sequence[object]) -> list[SealedNote]:
    """Store values as sealed notes through the vault's public API (kind ``note.body``)."""
    from vault import fields

    rows = [SealedNote.objects.create(project_id=project_id) for _ in values]
    sealer = fields.field_sealer(project_id, "note.body")
    for row, value in zip(rows, values, strict=True):
        row.body = sealer.seal(row.pk, value)
        row.save(update_fields=["body"])
    return rows
