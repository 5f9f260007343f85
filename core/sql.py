"""Plain SQL for the hot paths: rows read, inserted and updated without the ORM's query building.

Every project-scoped request passes the permission gate, and every next-task and submit runs
the work queue; the ORM builds and compiles each of their queries anew on every call, which
cost more CPU than the rest of the request (a ``select_related`` lookup about 1.5 ms, a
``save(update_fields=...)`` about 0.4 ms, a ``raw()`` query 0.3 ms of bookkeeping). Written
once, the same statements cost a fifth of that. Values still pass through the fields' own
conversions both ways (``get_db_prep_save`` on the way in, the backend's and the field's
converters on the way out), so an instance loaded here is the one the ORM would have loaded,
on PostgreSQL and on SQLite alike. Table and column names come from the models; values are
always parameters.

The conversions get the thread's connection itself (``_db``), not Django's ``connection``
proxy: each attribute read through the proxy looks the connection up again in a
context-local store, and a field's conversion reads several (an annotation's 23 fields cost
37 µs through the proxy, 16 µs without).
"""

from collections.abc import Callable, Sequence
from functools import cache
from typing import Any, TypeVar

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Model

M = TypeVar("M", bound=Model)
Converter = Callable[[Any, Any, Any], Any]


def _db() -> BaseDatabaseWrapper:
    """This thread's default connection (what ``django.db.connection`` stands for)."""
    return connections[DEFAULT_DB_ALIAS]


def rows(sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    with _db().cursor() as cursor:
        cursor.execute(sql, params)
        return list(cursor.fetchall())


def execute(sql: str, params: Sequence[Any]) -> int:
    """Run a statement; the number of rows it changed."""
    with _db().cursor() as cursor:
        cursor.execute(sql, params)
        return int(cursor.rowcount)


@cache
def columns(model: type[Model], alias: str = "") -> str:
    """The model's columns, in the order ``loaded`` expects them, for a SELECT list."""
    prefix = f"{alias}." if alias else ""
    return ", ".join(f"{prefix}{field.column}" for field in model._meta.concrete_fields)


def loaded(model: type[M], values: Sequence[Any]) -> M:
    """The instance the ORM would load from ``values`` (the ``columns`` of one row)."""
    db = _db()
    fields = model._meta.concrete_fields
    converted = list(values[: len(fields)])
    for position, (convert, expression) in _converters(model, db.vendor):
        for converter in convert:
            converted[position] = converter(converted[position], expression, db)
    return model.from_db(db.alias, [f.attname for f in fields], converted)


@cache
def _converters(model: type[Model], vendor: str) -> list[tuple[int, tuple[list[Converter], Any]]]:
    # As the ORM's compiler does for each selected column (SQLCompiler.get_converters).
    db = _db()
    out = []
    for position, field in enumerate(model._meta.concrete_fields):
        column = field.get_col(model._meta.db_table)
        found = db.ops.get_db_converters(column) + column.get_db_converters(db)
        if found:
            out.append((position, (found, column)))
    return out


def insert(instance: Model) -> None:
    """INSERT every concrete field of a new instance (whose primary key is already set)."""
    db = _db()
    execute(
        _insert_statement(type(instance), db.vendor),
        [_prepared(db, instance, f) for f in instance._meta.concrete_fields],
    )
    instance._state.adding = False
    instance._state.db = db.alias


def update(instance: Model, names: Sequence[str]) -> None:
    """UPDATE the named fields of a saved instance, by its primary key."""
    db = _db()
    fields = _fields(type(instance))
    values = [_prepared(db, instance, fields[name]) for name in names]
    execute(
        _update_statement(type(instance), tuple(names), db.vendor),
        [*values, _prepared(db, instance, instance._meta.pk)],
    )


@cache
def _fields(model: type[Model]) -> dict[str, Any]:
    return {field.name: field for field in model._meta.concrete_fields}


@cache
def _insert_statement(model: type[Model], vendor: str) -> str:
    fields = model._meta.concrete_fields
    names = ", ".join(_quoted(f.column) for f in fields)
    marks = ", ".join(["%s"] * len(fields))
    return f"INSERT INTO {_quoted(model._meta.db_table)} ({names}) VALUES ({marks})"  # noqa: S608 (names from the model)


@cache
def _update_statement(model: type[Model], names: tuple[str, ...], vendor: str) -> str:
    fields = _fields(model)
    columns = ", ".join(f"{_quoted(fields[name].column)} = %s" for name in names)
    pk = model._meta.pk
    assert pk is not None
    return f"UPDATE {_quoted(model._meta.db_table)} SET {columns} WHERE {_quoted(pk.column)} = %s"  # noqa: S608 (names from the model)


def _quoted(name: str | None) -> str:
    assert name is not None
    return str(_db().ops.quote_name(name))


def _prepared(db: BaseDatabaseWrapper, instance: Model, field: Any) -> Any:
    return field.get_db_prep_save(getattr(instance, field.attname), db)
