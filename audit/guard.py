"""Database triggers that make the audit tables append-only, on PostgreSQL and SQLite.

UPDATE is refused always. DELETE (and TRUNCATE on PostgreSQL) is refused unless the current
transaction has been explicitly unlocked by ``unlocked()``, which only ``manage.py flush`` (the
test suite's teardown) and retention pruning (``audit.retention``, after archiving) use. An attacker
with SQL access can still drop the triggers: that is what the hash chain and the signed
checkpoints are for.
"""

import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.db.backends.base.base import BaseDatabaseWrapper

GUARDED_TABLES = ("audit_auditevent", "audit_auditcheckpoint")
_FUNCTION = "labelkeep_audit_unlocked"
_MESSAGE = "the audit log is append-only"

# SQLite: the trigger asks a function that exists only on connections opened by Labelkeep, so
# the sqlite3 shell (where it is missing) is refused too.
_unlocked_sqlite: "weakref.WeakSet[BaseDatabaseWrapper]" = weakref.WeakSet()

_PG_FUNCTION = f"""
CREATE OR REPLACE FUNCTION labelkeep_audit_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('DELETE', 'TRUNCATE')
       AND coalesce(current_setting('labelkeep.audit_unlocked', true), '') = 'on' THEN
        IF TG_LEVEL = 'STATEMENT' THEN RETURN NULL; END IF;
        RETURN OLD;
    END IF;
    RAISE EXCEPTION '{_MESSAGE}: % on % refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'restrict_violation';
END
$$;
"""


def _pg_statements(table: str) -> list[str]:
    return [
        f"CREATE OR REPLACE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
        "FOR EACH ROW EXECUTE FUNCTION labelkeep_audit_append_only()",
        f"CREATE OR REPLACE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
        "FOR EACH STATEMENT EXECUTE FUNCTION labelkeep_audit_append_only()",
    ]


def _sqlite_statements(table: str) -> list[str]:
    return [
        f"CREATE TRIGGER IF NOT EXISTS {table}_no_update BEFORE UPDATE ON {table} "
        f"BEGIN SELECT RAISE(ABORT, '{_MESSAGE}: UPDATE on {table} refused'); END",
        f"CREATE TRIGGER IF NOT EXISTS {table}_no_delete BEFORE DELETE ON {table} "
        f"WHEN NOT {_FUNCTION}() "
        f"BEGIN SELECT RAISE(ABORT, '{_MESSAGE}: DELETE on {table} refused'); END",
    ]


def install(connection: BaseDatabaseWrapper) -> None:
    """Create (or re-create, idempotently) the append-only triggers."""
    if connection.vendor == "postgresql":
        statements = [_PG_FUNCTION]
        for table in GUARDED_TABLES:
            statements += _pg_statements(table)
    elif connection.vendor == "sqlite":
        statements = [s for table in GUARDED_TABLES for s in _sqlite_statements(table)]
    else:
        raise ImproperlyConfigured(
            f"Labelkeep runs on PostgreSQL or SQLite; {connection.vendor} has no append-only "
            "audit triggers."
        )
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)


def uninstall(connection: BaseDatabaseWrapper) -> None:
    with connection.cursor() as cursor:
        for table in GUARDED_TABLES:
            for name in trigger_names(connection, table):
                on = f" ON {table}" if connection.vendor == "postgresql" else ""
                cursor.execute(f"DROP TRIGGER IF EXISTS {name}{on}")
        if connection.vendor == "postgresql":
            cursor.execute("DROP FUNCTION IF EXISTS labelkeep_audit_append_only()")


def trigger_names(connection: BaseDatabaseWrapper, table: str) -> list[str]:
    if connection.vendor == "postgresql":
        return [f"{table}_append_only", f"{table}_no_truncate"]
    return [f"{table}_no_update", f"{table}_no_delete"]


def installed(connection: BaseDatabaseWrapper) -> bool:
    """True when every append-only trigger exists (a SQLite table rebuild drops them)."""
    expected = {name for t in GUARDED_TABLES for name in trigger_names(connection, t)}
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal")
        else:
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
        present = {row[0] for row in cursor.fetchall()}
    return expected <= present


def register_sqlite_function(sender: Any, connection: BaseDatabaseWrapper, **kwargs: Any) -> None:
    """``connection_created`` receiver: give each SQLite connection the unlock predicate."""
    if connection.vendor != "sqlite":
        return
    wrapper = weakref.ref(connection)

    def is_unlocked() -> int:
        current = wrapper()
        return int(current is not None and current in _unlocked_sqlite)

    connection.connection.create_function(_FUNCTION, 0, is_unlocked)


@contextmanager
def unlocked(using: str = "default") -> Iterator[None]:
    """Allow DELETE and TRUNCATE of audit rows for the rest of this block (never UPDATE)."""
    connection = transaction.get_connection(using)
    if not connection.in_atomic_block:
        raise transaction.TransactionManagementError("unlocked() needs a transaction.")
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL labelkeep.audit_unlocked = 'on'")
        # On an error the transaction is rolled back, which ends the SET LOCAL with it (and
        # the connection could not run the reset anyway).
        yield
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL labelkeep.audit_unlocked = 'off'")
        return
    _unlocked_sqlite.add(connection)
    try:
        yield
    finally:
        _unlocked_sqlite.discard(connection)
