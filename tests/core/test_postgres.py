"""The PostgreSQL backend's health check (core/postgres/): free for a quiet connection, a
fresh connection when the server has ended the session."""

import time

import psycopg
import pytest
from django.db import close_old_connections, connection, connections

from core.postgres.base import DatabaseWrapper

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's backend"),
]


def _backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return int(cursor.fetchone()[0])


def _admin() -> psycopg.Connection:
    return psycopg.connect(**connection.get_connection_params() | {"autocommit": True})


def _last_statement(pid: int) -> str:
    with _admin() as admin:
        row = admin.execute("SELECT query FROM pg_stat_activity WHERE pid = %s", [pid]).fetchone()
    assert row is not None
    return str(row[0])


def test_a_quiet_connection_is_reused_without_asking_the_server(settings):
    assert settings.DATABASES["default"]["CONN_HEALTH_CHECKS"]
    pid = _backend_pid()
    close_old_connections()  # a request ends, the next begins
    with connection.cursor():  # its first cursor runs the health check
        pass
    # The server saw no SELECT 1 since the last request's statement, on the same session.
    assert "pg_backend_pid" in _last_statement(pid)
    assert _backend_pid() == pid


def test_a_session_the_server_ended_is_replaced_before_the_next_request_uses_it():
    pid = _backend_pid()
    with _admin() as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [pid])
    database = connections["default"]
    assert isinstance(database, DatabaseWrapper)
    deadline = time.monotonic() + 5
    while database._quiet() and time.monotonic() < deadline:
        time.sleep(0.01)  # until the server's goodbye reaches the socket
    close_old_connections()  # the next request
    assert _backend_pid() != pid


@pytest.mark.parametrize(("value", "expected"), [("true", "True 5"), ("false", "False None")])
def test_prepared_statements_follow_the_setting(value: str, expected: str) -> None:
    # Settings are read once per process: a fresh one, with the suite's database.
    import os
    import subprocess
    import sys
    from pathlib import Path

    code = (
        "from django.db import connection; o = connection.settings_dict['OPTIONS'];"
        "print(o['server_side_binding'], o['prepare_threshold'])"
    )
    done = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=Path(__file__).resolve().parents[2],
        env={**os.environ, "LABELKEEP_DB_PREPARED": value},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert done.stdout.strip().splitlines()[-1] == expected
