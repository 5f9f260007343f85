from typing import Any

from django.apps import AppConfig
from django.db import connections
from django.db.backends.signals import connection_created
from django.db.migrations.recorder import MigrationRecorder
from django.db.models.signals import post_migrate

_TRIGGERS_MIGRATION = ("audit", "0003_append_only_triggers")


class AuditConfig(AppConfig):
    name = "audit"
    verbose_name = "Audit log"

    def ready(self) -> None:
        from audit import checks, guard

        checks.register()
        connection_created.connect(guard.register_sqlite_function, dispatch_uid="audit_sqlite")
        post_migrate.connect(_reinstall_guards, sender=self, dispatch_uid="audit_guards")
        post_migrate.connect(_heads_unknown, sender=self, dispatch_uid="audit_heads")


def _heads_unknown(sender: Any, **kwargs: Any) -> None:
    # Sent after migrate and after flush, which empties the chains' head table: the next
    # event creates the head rows again (``audit.chain``).
    from audit import chain

    chain.forget_heads()


def _reinstall_guards(sender: Any, using: str = "default", **kwargs: Any) -> None:
    # A later migration that rebuilds an audit table on SQLite drops its triggers with it;
    # re-created whenever the migration that made them is applied.
    from audit import guard

    connection = connections[using]
    if _TRIGGERS_MIGRATION in MigrationRecorder(connection).applied_migrations():
        guard.install(connection)
