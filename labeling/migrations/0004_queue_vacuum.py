"""PostgreSQL: vacuum the work queue's tables after a fixed number of changed rows, and clean
their indexes each time.

Every claim and answer leaves dead index entries where the queue's walks start: a claimed task
in the ready index ``task_ready``, an answered lease in ``annotation_lease``. Until a vacuum
removes them each claim steps over them, so its cost grows with the work done since. By
default autovacuum comes after a fifth of a table has changed (200,000 rows of a million-task
project), and a vacuum that finds dead rows in under 2 % of the table's pages skips the
indexes, which claims of consecutive tasks (neighbours on disk) can leave. So vacuum after
10,000 changed rows, indexes included. SQLite has neither.
"""

from django.db import migrations

_OPTIONS = {
    "autovacuum_vacuum_scale_factor": "0",
    "autovacuum_vacuum_threshold": "10000",
    "vacuum_index_cleanup": "on",
}
_TABLES = ("labeling_task", "labeling_annotation")


def _set(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    options = ", ".join(f"{name} = {value}" for name, value in _OPTIONS.items())
    for table in _TABLES:
        schema_editor.execute(f"ALTER TABLE {table} SET ({options})")


def _reset(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in _TABLES:
        schema_editor.execute(f"ALTER TABLE {table} RESET ({', '.join(_OPTIONS)})")


class Migration(migrations.Migration):
    dependencies = [("labeling", "0003_task_project_checked_per_import")]

    operations = [migrations.RunPython(_set, _reset, elidable=False)]
