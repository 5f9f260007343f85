"""Django's ``flush``, allowed to empty the append-only audit tables.

Flushing erases the whole database, the audit log with it; the test suite does it between
transactional tests. Only this command and retention pruning unlock deletion.
"""

from typing import Any

from django.core.management.commands import flush
from django.db import DEFAULT_DB_ALIAS, transaction

from audit import guard


class Command(flush.Command):
    def handle(self, **options: Any) -> None:
        database = options.get("database") or DEFAULT_DB_ALIAS
        with transaction.atomic(using=database), guard.unlocked(using=database):
            super().handle(**options)
