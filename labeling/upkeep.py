"""Keeping the work queue fast as it is worked: vacuuming its tables on PostgreSQL.

Every claim and every answer changes a row of the task table and of the annotation table. Until
a vacuum, the indexes the claim walks (the ready tasks, an annotator's leases) keep an entry for
each old version of those rows, and every claim steps over them: with a million tasks and 16
annotators the database's CPU per cycle doubled and throughput fell by a quarter within a
minute (docs/performance.md, the work queue). PostgreSQL's autovacuum, with its defaults, waits
until a fifth of a table has changed (200,000 rows of a million-task project) and looks once a
minute; this job, run by Celery beat every ``QUEUE_VACUUM_EVERY_SECONDS``, vacuums a table as
soon as ``QUEUE_VACUUM_DEAD_ROWS`` of its rows are dead, whatever the server's settings.

A vacuum reads only the pages changed since the last one and takes no lock that claims or
answers wait for; ``SKIP_LOCKED`` leaves a table that another vacuum (autovacuum, or this job
run twice) is working on.
"""

import logging
import time

from django.conf import settings
from django.db import connection

from labeling.models import Annotation, Task

log = logging.getLogger(__name__)

# The tables whose rows the queue changes on every claim and answer.
QUEUE_MODELS = (Task, Annotation)


def queue_vacuum(*, dead_rows: int | None = None) -> list[str]:
    """VACUUM each queue table holding at least ``dead_rows`` (default
    ``QUEUE_VACUUM_DEAD_ROWS``) dead row versions, as PostgreSQL's statistics count them;
    returns the tables vacuumed. Nothing to do on SQLite (it keeps no dead versions in its
    indexes)."""
    if connection.vendor != "postgresql":
        return []
    if connection.in_atomic_block:
        raise RuntimeError("VACUUM cannot run inside a transaction.")
    threshold = settings.QUEUE_VACUUM_DEAD_ROWS if dead_rows is None else dead_rows
    tables = [model._meta.db_table for model in QUEUE_MODELS]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname FROM pg_stat_user_tables WHERE schemaname = current_schema() "
            "AND relname = ANY(%s) AND n_dead_tup >= %s ORDER BY relname",
            [tables, threshold],
        )
        due = [name for (name,) in cursor.fetchall()]
        if not due:
            return []
        started = time.monotonic()
        quote = connection.ops.quote_name
        cursor.execute("VACUUM (SKIP_LOCKED) " + ", ".join(quote(name) for name in due))
    log.debug("vacuumed %s in %.3f s", ", ".join(due), time.monotonic() - started)
    return due
