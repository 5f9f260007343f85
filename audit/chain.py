"""Appending an event to a hash chain without serializing unrelated work.

The log is ``AUDIT_CHAINS`` independent chains. Appending locks one chain's head row
(``SELECT ... FOR UPDATE``) until the transaction ends, so a chain never forks and its events
commit in chain order. The preferred chain is chosen by the actor (spreading actors over the
chains); a transaction that records several events keeps the chain it already holds. On
PostgreSQL a transaction whose preferred chain is held by another takes the first free one
(``SKIP LOCKED``); it waits only when every chain is busy, and then only while it holds no
chain itself, so appends never deadlock. On SQLite writers are serialized by the database
anyway and the preferred chain is simply taken.

On PostgreSQL an append is one statement: it locks a head, draws the sequence number, hashes
and inserts the event and moves the head (the Python side checks the database's hash). On
SQLite it is three: the head with the next sequence number, the insert, the head's update.

On PostgreSQL the statement waits for the transaction's commit and goes in the same round
trip (``core.postgres``): nothing in the transaction reads the event it records, so it
need not cost a round trip of its own. The chain head is then locked only for the commit
itself. The event is still written in the transaction (an error in its statement skips the
COMMIT), and dropped with a rolled-back savepoint it was recorded in. A transaction's earlier
event is sent when the next one is recorded (so at most one waits), before a savepoint is
made, and before the log is read through the ORM in the same transaction. A transaction that
never commits (a test case's, which Django rolls back) appends at once instead, as SQLite
does.

Plain SQL rather than the ORM: this runs in every audited transaction, and the ORM's query
building doubled its CPU cost. For the same reason the connection is looked up once per append
(each ``django.db.connection`` attribute goes through a context-local lookup) and what depends
only on the model is computed once per process.
"""

import hashlib
import logging
import time
import weakref
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.utils import CursorWrapper
from django.db.models import Field, JSONField

from audit import hashing
from audit.models import AuditChainHead, AuditEvent
from core.postgres.base import DatabaseWrapper as PostgresWrapper

logger = logging.getLogger(__name__)

# The chain each connection's current transaction holds (with that transaction's outermost
# atomic block): its next event goes to the same chain, so a transaction holds one chain lock.
_held: "weakref.WeakKeyDictionary[BaseDatabaseWrapper, tuple[object, int]]" = (
    weakref.WeakKeyDictionary()
)
_HEADS = AuditChainHead._meta.db_table
_EVENTS = AuditEvent._meta.db_table
# Filled in by the database as it appends: the link, and the hash over it.
_DRAWN = (*hashing.LINK_FIELDS, "hash")

# Which head row an append locks, in its order of preference: on PostgreSQL first the
# preferred chain if free, else the first free one; when every chain is busy, the preferred
# one, waiting for it. The parameters are the preferred chain and the number of chains.
# The first free one is a separate branch after the preferred one, each an index lookup: the
# branch below a LIMIT 1 that already has its row is never run (and so locks nothing), and
# no sort of every head (each with the versions its updates left) is needed.
# Names from the model and constants, values as parameters: nothing from outside reaches them.
_COLUMNS = f"SELECT chain, length, hash FROM {_HEADS}"  # noqa: S608
_ANY_FREE = (
    f"SELECT * FROM ({_COLUMNS} WHERE chain = %(preferred)s AND chain < %(chains)s"  # noqa: S608
    " FOR UPDATE SKIP LOCKED) AS preferred"
    f" UNION ALL SELECT * FROM ({_COLUMNS} WHERE chain < %(chains)s"
    " ORDER BY chain LIMIT 1 FOR UPDATE SKIP LOCKED) AS first_free LIMIT 1"
)
_PREFERRED = f"{_COLUMNS} WHERE chain = %(preferred)s FOR UPDATE"
# All three in one, for the statement sent with COMMIT, which cannot try again: the branch
# that waits runs only when the two before it found every chain busy.
_ANY_FREE_ELSE_PREFERRED = (
    f"SELECT * FROM ({_ANY_FREE}) AS free"  # noqa: S608
    f" UNION ALL SELECT * FROM ({_PREFERRED}) AS busy LIMIT 1"
)


def append(fields: dict[str, Any], *, spread_key: str) -> None:
    """Add the event described by ``fields`` at the end of a chain, in the current
    transaction: at once, or (on PostgreSQL) with its commit. Needs a transaction."""
    conn = transaction.get_connection()
    if isinstance(conn, PostgresWrapper) and _commits(conn) and _every_head_exists(conn):
        flush(conn)  # the transaction's earlier event first: one waits at a time
        savepoints = tuple(sid for sid in conn.savepoint_ids if sid)
        conn.defer(_Queued(fields, spread_key, savepoints))
    else:
        _append_now(conn, fields, spread_key)


def _every_head_exists(conn: BaseDatabaseWrapper) -> bool:
    """Whether the statement sent with COMMIT will find its head rows (it cannot create
    them). Until a transaction that saw every row commits, events are appended at once (and
    missing rows created): the rows it saw may be its own uncommitted ones, gone if it rolls
    back. Looked up until then, once per process."""
    if _process.heads_created:
        return True
    chains = settings.AUDIT_CHAINS
    with conn.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {_HEADS} WHERE chain < %s", [chains])  # noqa: S608
        every = cursor.fetchone()[0] == chains
    if every:
        transaction.on_commit(_process.created, using=conn.alias)
    else:
        _create_heads()
    return False


def flush(conn: BaseDatabaseWrapper) -> None:
    """Write the event waiting for the commit of ``conn``'s transaction, if any, now."""
    if isinstance(conn, PostgresWrapper) and conn.deferred is not None:
        queued = conn.take_deferred()
        if queued is not None:
            queued.run(conn)


def _commits(conn: BaseDatabaseWrapper) -> bool:
    # Django marks the atomic blocks a test case wraps each test in (as it does for its own
    # check of durable blocks): that transaction is rolled back, never committed.
    blocks = conn.atomic_blocks
    return bool(blocks) and not getattr(blocks[0], "_from_testcase", False)


@dataclass(slots=True)
class _Queued:
    """An event waiting for its transaction's commit (``core.postgres.Deferred``)."""

    fields: dict[str, Any]
    spread_key: str
    savepoints: tuple[str, ...]

    def commit_with(self, wrapper: PostgresWrapper) -> None:
        _append_with_commit(wrapper, self.fields, self.spread_key)

    def run(self, wrapper: PostgresWrapper) -> None:
        _append_now(wrapper, self.fields, self.spread_key)


class Spent:
    """What the statements sent with COMMIT cost, for the audit benchmark's probe, which sets
    ``measuring``: the client does not wait for them on their own, so their cost is the time
    the server spent on them (from a clock read just before the statement, in the same
    round trip, to one at its end) rather than the round trip's."""

    measuring = False
    server_s = 0.0  # the server's time from the clock read to the statement's end
    round_trip_s = 0.0  # the client's time from sending to the commit's answer


spent = Spent()


class _Process:
    # Set once this process has seen every head row committed.
    heads_created = False

    def created(self) -> None:
        self.heads_created = True


_process = _Process()


def forget_heads() -> None:
    """The head rows may be gone (the database was flushed): create them again before the
    next event sent with COMMIT."""
    _process.heads_created = False


def _append_now(conn: BaseDatabaseWrapper, fields: dict[str, Any], spread_key: str) -> None:
    preferred = _preferred_chain(conn, spread_key)
    with conn.cursor() as cursor:
        if conn.vendor == "postgresql":
            values = _append_in_one_statement(conn, cursor, fields, preferred)
        else:
            values = _append_serialized(conn, cursor, fields, preferred)
    _held[conn] = (_outermost_block(conn), values["chain"])


def _preferred_chain(conn: BaseDatabaseWrapper, spread_key: str) -> int:
    chains = settings.AUDIT_CHAINS
    held = _held.get(conn)
    if held is not None and held[0] is _outermost_block(conn) and held[1] < chains:
        return held[1]
    return zlib.crc32(spread_key.encode()) % chains


def _outermost_block(conn: BaseDatabaseWrapper) -> object:
    # Identifies the transaction. A decorator's Atomic object is reused by every call, so a
    # later transaction may look like this one: it then merely prefers a chain, harmlessly.
    blocks = conn.atomic_blocks
    return blocks[0] if blocks else None


def _create_heads() -> None:
    AuditChainHead.objects.bulk_create(
        [AuditChainHead(chain=n) for n in range(settings.AUDIT_CHAINS)], ignore_conflicts=True
    )


# PostgreSQL: one statement.


def _append_in_one_statement(
    conn: BaseDatabaseWrapper, cursor: CursorWrapper, fields: dict[str, Any], preferred: int
) -> dict[str, Any]:
    template = hashing.event_template(fields)
    params = _parameters(conn, fields, template)
    params["preferred"] = preferred
    params["chains"] = settings.AUDIT_CHAINS
    drawn = None
    # The second try waits for a busy chain; the third follows the creation of the heads.
    for heads, create in ((_ANY_FREE, False), (_PREFERRED, False), (_PREFERRED, True)):
        if create:
            _create_heads()
        cursor.execute(_append_statement(heads, template.holes), params)
        drawn = cursor.fetchone()
        if drawn is not None:
            break
    if drawn is None:
        raise RuntimeError(f"audit chain {preferred} has no head row")
    values = dict(fields)
    values["hash_version"] = hashing.HASH_VERSION
    return _checked(values, template, drawn)


def _append_with_commit(conn: PostgresWrapper, fields: dict[str, Any], spread_key: str) -> None:
    """Append in the round trip that commits (psycopg's pipeline): the statement, then
    COMMIT, sent together. The statement fails if it did not append (so COMMIT is skipped
    and the transaction rolls back), and reports its own server time."""
    template = hashing.event_template(fields)
    params = _parameters(conn, fields, template)
    params["preferred"] = _preferred_chain(conn, spread_key)
    params["chains"] = settings.AUDIT_CHAINS
    sql = _append_statement(_ANY_FREE_ELSE_PREFERRED, template.holes, committing=True)
    pg = conn.connection
    started, clock = time.perf_counter(), pg.cursor() if spent.measuring else None
    try:
        with pg.cursor() as cursor, pg.cursor() as commit:
            # One Sync, the pipeline's at its end: psycopg's ``commit()`` adds its own.
            with pg.pipeline():
                if clock is not None:
                    clock.execute("SELECT clock_timestamp()", prepare=False)
                cursor.execute(sql, params)
                commit.execute("COMMIT", prepare=False)
            drawn = cursor.fetchone()
        *link, ended = drawn
        if clock is not None:
            spent.round_trip_s += time.perf_counter() - started
            spent.server_s += (ended - clock.fetchone()[0]).total_seconds()
    except Exception:
        forget_heads()  # in case a head row was missing: the next event creates them
        raise
    finally:
        if clock is not None:
            clock.close()
    values = dict(fields)
    values["hash_version"] = hashing.HASH_VERSION
    try:
        _checked(values, template, link)
    except RuntimeError:
        # Committed: the event is in the log, and ``audit_verify`` will name it. The check is
        # of this code's encoding against the database's, which tests cover.
        logger.exception("audit event %s committed with a wrong hash", fields["event_id"])


def _parameters(
    conn: BaseDatabaseWrapper, fields: dict[str, Any], template: hashing.Template
) -> dict[str, Any]:
    """The statement's parameters but the chain choice: the given columns, then the texts."""
    plain, converted = _given_columns_by_conversion()
    params = {name: fields[name] for name in plain}
    for name, column in converted:
        params[name] = column.get_db_prep_save(fields[name], conn)
    for key, text in zip(_TEXT_KEYS, template.texts, strict=False):
        params[key] = text
    params["hash_version"] = hashing.HASH_VERSION
    return params


# More than a template can have texts (one more than the holes).
_TEXT_KEYS = tuple(f"text{n}" for n in range(len(hashing.LINK_FIELDS) + 1))


def _checked(
    values: dict[str, Any], template: hashing.Template, drawn: Sequence[Any]
) -> dict[str, Any]:
    *link, moved = drawn
    values.update(zip(_DRAWN, link, strict=True))
    if not moved:
        raise RuntimeError(f"audit chain {values['chain']} moved while locked")
    # The database hashed what Python encoded: check it against the encoding verify uses.
    if hashlib.sha256(template.filled(values)).hexdigest() != values["hash"]:
        raise RuntimeError("the database hashed an audit event differently")
    return values


@cache
def _given_columns() -> "tuple[tuple[str, Field[Any, Any]], ...]":
    """The columns whose values the caller gives (all but the link, the hash and its version)."""
    drawn = {*_DRAWN, "hash_version"}
    return tuple(
        (str(c.attname), c) for c in AuditEvent._meta.concrete_fields if c.attname not in drawn
    )


@cache
def _given_columns_by_conversion() -> (
    "tuple[tuple[str, ...], tuple[tuple[str, Field[Any, Any]], ...]]"
):
    """The given columns whose values go as they are, and those that need their field's
    conversion. psycopg takes text, numbers, UUIDs and aware datetimes as they are, and
    Django's preparation of those changes nothing on PostgreSQL; JSON needs its adapter."""
    given = _given_columns()
    return (
        tuple(name for name, column in given if not isinstance(column, JSONField)),
        tuple((name, column) for name, column in given if isinstance(column, JSONField)),
    )


@cache
def _append_statement(heads: str, holes: tuple[str, ...], *, committing: bool = False) -> str:
    """Lock a head, draw ``seq``, hash and insert the event, move the head; one statement.

    The sequence number is drawn in ``link``, above the lock. ``nextval`` in the target list
    of the locking SELECT itself is evaluated below its lock, before the lock is granted (and
    for rows that SKIP LOCKED then passes over): whether a writer that waited still draws a
    number above the events it follows would rest on PostgreSQL re-evaluating it after the
    wait. Here it runs only for the row the lock returned, so seq grows along each chain.

    The head's update names the row by its chain only. The statement's snapshot may predate
    the commit of the writer it waited for, and READ COMMITTED re-checks only the conditions
    of rows the snapshot shows matching: a condition on the old length would skip the row.
    The update then applies to the newest version, the one locked above; the unique (chain,
    position) of events is what refuses a fork. The last column is false if the head did not
    move (it cannot, being locked): the caller then fails the transaction, the insert with it.

    ``committing``: the statement sent with COMMIT, which nothing checks before the commit.
    It divides by the number of heads moved, so that if none was (no head row to lock) it
    fails and the COMMIT after it is skipped; and it ends with the time it ended.
    """
    given = _given_columns()
    names = ", ".join(connection.ops.quote_name(str(c.column)) for _n, c in given)
    values = ", ".join(f"%({name})s" for name, _c in given)
    # The template's texts around the columns of ``link``, in the holes' order.
    link = {"chain": "chain", "chain_pos": "pos", "prev_hash": "prev", "seq": "seq"}
    pieces = ["%(text0)s::text"]
    for n, hole in enumerate(holes, start=1):
        pieces += [link[hole], f"%(text{n})s::text"]
    encoding = ", ".join(pieces)
    # Names from the model and constants, values as parameters: nothing from outside
    # reaches the text.
    return f"""
        WITH head AS MATERIALIZED (
            {heads}
        ), link AS MATERIALIZED (
            SELECT chain, length + 1 AS pos, hash AS prev,
                   nextval(pg_get_serial_sequence('{_EVENTS}', 'seq')) AS seq
            FROM head
        ), event AS (
            INSERT INTO {_EVENTS} ({names}, chain, chain_pos, prev_hash, seq, hash_version, hash)
            SELECT {values}, chain, pos, prev, seq, %(hash_version)s,
                   encode(sha256(convert_to(concat({encoding}), 'UTF8')), 'hex')
            FROM link
            RETURNING chain, chain_pos, prev_hash, seq, hash
        ), moved AS (
            UPDATE {_HEADS} AS h SET length = event.chain_pos, seq = event.seq, hash = event.hash
            FROM event WHERE h.chain = event.chain
            RETURNING h.chain
        )
        {_COMMITTING_END if committing else _END}
    """  # noqa: S608


_END = "SELECT chain, chain_pos, prev_hash, seq, hash, EXISTS (SELECT FROM moved) FROM event"
_COMMITTING_END = """
        SELECT chain, chain_pos, prev_hash, seq, hash, EXISTS (SELECT FROM moved),
               clock_timestamp()
        FROM (SELECT 1 / count(*) AS one FROM moved) AS appended
        LEFT JOIN event ON appended.one = 1
"""


# SQLite: writers are serialized by the database, so no lock is taken.


def _append_serialized(
    conn: BaseDatabaseWrapper, cursor: CursorWrapper, fields: dict[str, Any], preferred: int
) -> dict[str, Any]:
    head = _head_with_next_seq(cursor, preferred)
    if head is None:
        _create_heads()
        head = _head_with_next_seq(cursor, preferred)
    if head is None:
        raise RuntimeError(f"audit chain {preferred} has no head row")
    chain, length, prev_hash, seq = head
    values = {
        **fields,
        "seq": seq,
        "chain": chain,
        "chain_pos": length + 1,
        "prev_hash": prev_hash,
        "hash_version": hashing.HASH_VERSION,
    }
    values["hash"] = hashing.event_digest(values)
    columns, sql = _insert_statement()
    cursor.execute(sql, [c.get_db_prep_save(values[c.attname], conn) for c in columns])
    cursor.execute(
        f"UPDATE {_HEADS} SET length = %s, seq = %s, hash = %s "  # noqa: S608
        "WHERE chain = %s AND length = %s",
        [values["chain_pos"], seq, values["hash"], chain, length],
    )
    if cursor.rowcount != 1:
        raise RuntimeError(f"audit chain {chain} moved while locked")
    return values


def _head_with_next_seq(cursor: CursorWrapper, chain: int) -> tuple[int, int, str, int] | None:
    cursor.execute(
        f"SELECT chain, length, hash, (SELECT COALESCE(MAX(seq), 0) + 1 FROM {_EVENTS}) "  # noqa: S608
        f"FROM {_HEADS} WHERE chain = %s",
        [chain],
    )
    row = cursor.fetchone()
    return (int(row[0]), int(row[1]), str(row[2]), int(row[3])) if row else None


@cache
def _insert_statement() -> tuple[Sequence[Any], str]:
    columns = AuditEvent._meta.concrete_fields
    names = ", ".join(connection.ops.quote_name(str(c.column)) for c in columns)
    marks = ", ".join(["%s"] * len(columns))
    # Names from the model, values as parameters: nothing from outside reaches the text.
    return columns, f"INSERT INTO {_EVENTS} ({names}) VALUES ({marks})"  # noqa: S608
