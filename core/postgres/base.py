"""PostgreSQL as Django runs it, with two round trips saved.

**A per-request health check that needs no round trip.** With ``CONN_HEALTH_CHECKS`` Django
sends ``SELECT 1`` before the first query of every request that reuses a connection: a round
trip per request, for a failure that is nearly always the server having ended the session (a
restart, an idle timeout, a terminated backend). A server that ends a session says so on the
socket (its last message and the end of the stream), and an idle connection otherwise has
nothing to read. So the check looks at the socket first, for free, and asks the server only
when something did arrive. After an error Django still checks with ``SELECT 1``
(``close_if_unusable_or_obsolete``), as before.

**A statement that goes with COMMIT.** A statement whose result nothing in the transaction
needs before it ends (``audit.chain``'s append of an event) can be deferred to the commit and
sent in the same round trip as ``COMMIT`` (psycopg's pipeline mode): the server runs both in
order, and an error in the statement skips the ``COMMIT``, so the transaction rolls back as if
the statement had failed where it was made. At most one statement waits per connection; it
is dropped with the transaction, or with the savepoint it was made in, when they roll back,
and sent on its own before a savepoint is made (which must not undo it).
"""

import select
from typing import Protocol

from django.db.backends.postgresql import base


class Deferred(Protocol):
    """A statement waiting for the commit of the current transaction."""

    # The savepoints open when it was made: rolling back to any of them drops it.
    savepoints: tuple[str, ...]

    def commit_with(self, wrapper: "DatabaseWrapper") -> None:
        """Send the statement and ``COMMIT`` in one round trip; raise if either fails."""

    def run(self, wrapper: "DatabaseWrapper") -> None:
        """Send the statement now, in its own round trip."""


class DatabaseWrapper(base.DatabaseWrapper):
    deferred: Deferred | None = None

    def close_if_health_check_failed(self) -> None:
        # Django's own flags (set from CONN_HEALTH_CHECKS, reset at each request's start),
        # which its type stubs do not declare.
        due = self.health_check_enabled and not self.health_check_done  # type: ignore[attr-defined,has-type]
        if due and self._quiet():
            self.health_check_done = True
            return
        super().close_if_health_check_failed()

    def _quiet(self) -> bool:
        """An open connection with nothing unread: as usable as after its last statement."""
        connection = self.connection
        if connection is None or connection.closed or connection.broken:
            return False
        try:
            readable, _, _ = select.select([connection.fileno()], [], [], 0)
        except (OSError, ValueError):
            return False
        return not readable

    # The statement deferred to the commit.

    def defer(self, statement: Deferred) -> None:
        if self.deferred is not None:
            raise RuntimeError("a statement is already waiting for this transaction's commit")
        self.deferred = statement

    def take_deferred(self) -> Deferred | None:
        """The waiting statement, no longer waiting: the caller runs it now."""
        statement, self.deferred = self.deferred, None
        return statement

    def _commit(self) -> None:
        statement = self.take_deferred()
        if statement is None or self.connection is None:
            super()._commit()  # type: ignore[misc]  # private in the stubs
            return
        with self.wrap_database_errors:
            statement.commit_with(self)

    def _rollback(self) -> None:
        self.deferred = None
        super()._rollback()  # type: ignore[misc]  # private in the stubs

    def _savepoint(self, sid: str) -> None:
        # Sent before the savepoint is made, the statement is not undone with it: it belongs
        # to the transaction (or savepoint) it was made in.
        statement = self.take_deferred()
        if statement is not None:
            statement.run(self)
        super()._savepoint(sid)  # type: ignore[misc]  # private in the stubs

    def _savepoint_rollback(self, sid: str) -> None:
        if self.deferred is not None and sid in self.deferred.savepoints:
            self.deferred = None
        super()._savepoint_rollback(sid)  # type: ignore[misc]  # private in the stubs

    def _close(self) -> None:
        self.deferred = None
        super()._close()  # type: ignore[misc]  # private in the stubs
