"""PostgreSQL as Django runs it, with a per-request health check that needs no round trip.

With ``CONN_HEALTH_CHECKS`` Django sends ``SELECT 1`` before the first query of every request
that reuses a connection: a round trip per request, for a failure that is nearly always the
server having ended the session (a restart, an idle timeout, a terminated backend). A server
that ends a session says so on the socket (its last message and the end of the stream), and
an idle connection otherwise has nothing to read. So the check looks at the socket first, for
free, and asks the server only when something did arrive. After an error Django still checks
with ``SELECT 1`` (``close_if_unusable_or_obsolete``), as before.
"""

import select

from django.db.backends.postgresql import base


class DatabaseWrapper(base.DatabaseWrapper):
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
