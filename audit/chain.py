"""Appending an event to a hash chain without serializing unrelated work.

The log is ``AUDIT_CHAINS`` independent chains. Appending locks one chain's head row
(``SELECT ... FOR UPDATE``) until the transaction ends, so a chain never forks and its events
commit in chain order. The preferred chain is chosen by the actor (spreading actors over the
chains); a transaction that records several events keeps the chain it already holds. On
PostgreSQL a transaction whose preferred chain is held by another takes the first free one
(``SKIP LOCKED``); it waits only when every chain is busy, and then only while it holds no
chain itself, so appends never deadlock. On SQLite writers are serialized by the database
anyway and the preferred chain is simply taken.
"""

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

from audit import hashing
from audit.models import AuditChainHead, AuditEvent

# The chain each connection's current transaction holds (with that transaction's outermost
# atomic block): its next event goes to the same chain, so a transaction holds one chain lock.
_held: "weakref.WeakKeyDictionary[BaseDatabaseWrapper, tuple[object, int]]" = (
    weakref.WeakKeyDictionary()
)
_HEADS = AuditChainHead._meta.db_table
_SELECT_HEAD = f"SELECT chain, length, hash FROM {_HEADS} WHERE "  # noqa: S608


@dataclass(frozen=True)
class _Head:
    chain: int
    length: int
    hash: str


def append(fields: dict[str, Any], *, spread_key: str) -> AuditEvent:
    """Insert the event described by ``fields`` at the end of a chain. Needs a transaction.

    Plain SQL rather than the ORM: this runs in every audited transaction, and the ORM's
    query building doubled its CPU cost.
    """
    with connection.cursor() as cursor:
        head = _lock_head(cursor, _preferred_chain(spread_key))
        values = {
            **fields,
            "seq": _next_seq(cursor),
            "chain": head.chain,
            "chain_pos": head.length + 1,
            "prev_hash": head.hash,
            "hash_version": hashing.HASH_VERSION,
        }
        values["hash"] = hashing.event_digest(values)
        columns, sql = _insert_statement()
        cursor.execute(sql, [c.get_db_prep_save(values[c.attname], connection) for c in columns])
        cursor.execute(
            f"UPDATE {_HEADS} SET length = %s, seq = %s, hash = %s "  # noqa: S608
            "WHERE chain = %s AND length = %s",
            [values["chain_pos"], values["seq"], values["hash"], head.chain, head.length],
        )
        if cursor.rowcount != 1:
            raise RuntimeError(f"audit chain {head.chain} moved while locked")
    return _saved(values)


def _saved(values: dict[str, Any]) -> AuditEvent:
    event = AuditEvent(**values)
    event._state.adding = False
    event._state.db = connection.alias
    return event


@cache
def _insert_statement() -> tuple[Sequence[Any], str]:
    columns = AuditEvent._meta.concrete_fields
    names = ", ".join(connection.ops.quote_name(str(c.column)) for c in columns)
    marks = ", ".join(["%s"] * len(columns))
    # Names from the model, values as parameters: nothing from outside reaches the text.
    table = AuditEvent._meta.db_table
    return columns, f"INSERT INTO {table} ({names}) VALUES ({marks})"  # noqa: S608


def _preferred_chain(spread_key: str) -> int:
    held = _held.get(transaction.get_connection())
    if held is not None and held[0] is _outermost_block() and held[1] < settings.AUDIT_CHAINS:
        return held[1]
    return zlib.crc32(spread_key.encode()) % settings.AUDIT_CHAINS


def _outermost_block() -> object:
    # Identifies the transaction. A decorator's Atomic object is reused by every call, so a
    # later transaction may look like this one: it then merely prefers a chain, harmlessly.
    blocks = transaction.get_connection().atomic_blocks
    return blocks[0] if blocks else None


def _lock_head(cursor: CursorWrapper, preferred: int) -> _Head:
    head = _try_lock(cursor, preferred)
    if head is None:
        AuditChainHead.objects.bulk_create(
            [AuditChainHead(chain=n) for n in range(settings.AUDIT_CHAINS)],
            ignore_conflicts=True,
        )
        head = _try_lock(cursor, preferred)
    if head is None:
        raise RuntimeError(f"audit chain {preferred} has no head row")
    _held[transaction.get_connection()] = (_outermost_block(), head.chain)
    return head


def _try_lock(cursor: CursorWrapper, preferred: int) -> _Head | None:
    if not connection.features.has_select_for_update_skip_locked:
        return _one(cursor, "chain = %s", [preferred])
    return (
        _one(cursor, "chain = %s FOR UPDATE SKIP LOCKED", [preferred])
        or _one(
            cursor,
            "chain < %s ORDER BY chain LIMIT 1 FOR UPDATE SKIP LOCKED",
            [settings.AUDIT_CHAINS],
        )
        # Every chain is busy (or none exists yet). This transaction holds no chain: had it
        # held one, that chain would have been its preferred one and just returned.
        or _one(cursor, "chain = %s FOR UPDATE", [preferred])
    )


def _one(cursor: CursorWrapper, where: str, params: list[Any]) -> _Head | None:
    cursor.execute(_SELECT_HEAD + where, params)
    row = cursor.fetchone()
    return _Head(*row) if row else None


def _next_seq(cursor: CursorWrapper) -> int:
    # The sequence number is hashed, so it is drawn before the insert; drawn after the chain
    # lock, it also grows along each chain.
    table = AuditEvent._meta.db_table
    if connection.vendor == "postgresql":
        cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, 'seq'))", [table])
    else:
        cursor.execute(f'SELECT COALESCE(MAX(seq), 0) + 1 FROM "{table}"')  # noqa: S608
    return int(cursor.fetchone()[0])
