"""Copies of the test database as an attacker (or a backup) would hold them."""

import os
import re
import sqlite3
import subprocess
from pathlib import Path

from django.db import connection


def database_copy(directory: Path) -> bytes:
    """The raw bytes of the whole database: the SQLite file image, or a pg_dump."""
    connection.ensure_connection()
    directory.mkdir(parents=True, exist_ok=True)
    if connection.vendor == "sqlite":
        target = directory / "copy.sqlite3"
        with sqlite3.connect(target) as copy:
            connection.connection.backup(copy)
        copy.close()
        return target.read_bytes()
    params = connection.settings_dict
    env = {**os.environ, "PGPASSWORD": params.get("PASSWORD") or ""}
    command = ["pg_dump", "--no-owner", "--dbname", params["NAME"]]
    for flag, key in (("--host", "HOST"), ("--port", "PORT"), ("--username", "USER")):
        if params.get(key):
            command += [flag, str(params[key])]
    return subprocess.run(command, env=env, check=True, capture_output=True).stdout


def sealed_bodies(copy: bytes, directory: Path) -> dict[int, bytes]:
    """The sealed note bodies as found in a database copy, keyed by row id."""
    if copy.startswith(b"SQLite format 3"):
        with sqlite3.connect(directory / "copy.sqlite3") as db:
            rows = db.execute("SELECT id, body FROM vaulttests_sealednote").fetchall()
        return {row_id: bytes(body) for row_id, body in rows if body is not None}
    table = re.search(
        rb"COPY public\.vaulttests_sealednote \(id, project_id, body\) FROM stdin;\n(.*?)\n\\\.",
        copy,
        re.DOTALL,
    )
    found: dict[int, bytes] = {}
    for line in table.group(1).split(b"\n") if table else []:
        row_id, _project, body = line.split(b"\t")
        if body != rb"\N":
            found[int(row_id)] = bytes.fromhex(body.decode().removeprefix("\\\\x"))
    return found
