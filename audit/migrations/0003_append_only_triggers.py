"""Triggers that refuse UPDATE and DELETE of audit events and checkpoints (see audit.guard)."""

from django.db import migrations

from audit import guard


def install(apps, schema_editor):
    guard.install(schema_editor.connection)


def uninstall(apps, schema_editor):
    guard.uninstall(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("audit", "0002_hash_chain")]

    operations = [migrations.RunPython(install, uninstall)]
