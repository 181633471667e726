"""The three statements every status change runs, with their SQL built once.

Django compiles a query from scratch on each call, and for a row of some
thirty columns that compilation costs more than the database's own work: a
locking read, a compare-and-set UPDATE and the transition log's INSERT took
about 1.4 ms of ORM time per notification on PostgreSQL against 0.1 ms of
round trips. Here each statement's text is built once per shape (model,
columns, which values are NULL) from the model's own metadata and the
connection's quoting, and every value goes through its field's
``get_db_prep_value``/``get_db_prep_save`` and every result through the
field's converters, exactly as the ORM would. Only plain values are taken,
never expressions, so every value is a query parameter.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from django.db import connections, router
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Field, Model

_M = TypeVar("_M", bound=Model)
Converter = Callable[..., Any]

_select_cache: dict[tuple[Any, ...], tuple[str, list[tuple[int, list[Converter], Any]]]] = {}
_update_cache: dict[tuple[Any, ...], str] = {}
_insert_cache: dict[tuple[Any, ...], str] = {}


def concrete_field(model: type[Model], name: str) -> Field[Any, Any]:
    field = model._meta.get_field(name)
    if not isinstance(field, Field) or not field.concrete:
        raise TypeError(f"{model.__name__}.{name} is not a column")
    return field


def column(field: Field[Any, Any]) -> str:
    return str(field.column)


def _where(
    model: type[Model], where: Mapping[str, Any], connection: BaseDatabaseWrapper
) -> tuple[str, list[Any]]:
    quote = connection.ops.quote_name
    parts, params = [], []
    for name, value in where.items():
        field = concrete_field(model, name)
        if value is None:
            parts.append(f"{quote(column(field))} IS NULL")
        else:
            parts.append(f"{quote(column(field))} = %s")
            params.append(field.get_db_prep_value(value, connection, prepared=False))
    return " AND ".join(parts), params


def _shape(where: Mapping[str, Any]) -> tuple[tuple[str, bool], ...]:
    return tuple((name, value is None) for name, value in where.items())


def _plain(values: Mapping[str, Any]) -> None:
    for name, value in values.items():
        if hasattr(value, "resolve_expression"):
            raise TypeError(f"{name}: expressions are not taken here")


def fetch_one(model: type[_M], where: Mapping[str, Any], *, lock: bool = False) -> _M | None:
    """The first row matching ``where`` (equality, ``None`` for NULL), or ``None``.

    With ``lock``, ``SELECT ... FOR UPDATE``, where the database has it.
    """
    _plain(where)
    alias = router.db_for_write(model) if lock else router.db_for_read(model)
    connection = connections[alias]
    key = (alias, connection.vendor, model, _shape(where), lock)
    condition, params = _where(model, where, connection)
    cached = _select_cache.get(key)
    if cached is None:
        quote = connection.ops.quote_name
        fields = model._meta.concrete_fields
        table = model._meta.db_table
        columns = ", ".join(f"{quote(table)}.{quote(column(f))}" for f in fields)
        converters = []
        for index, field in enumerate(fields):
            expression = field.get_col(table)
            found = connection.ops.get_db_converters(expression)
            found += field.get_db_converters(connection)
            if found:
                converters.append((index, found, expression))
        sql = f"SELECT {columns} FROM {quote(table)} WHERE {condition} "  # noqa: S608
        sql += connection.ops.limit_offset_sql(0, 1)
        if lock and connection.features.has_select_for_update:
            sql += " " + connection.ops.for_update_sql()
        cached = _select_cache[key] = (sql, converters)
    sql, converters = cached
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return None
    values = list(row)
    for index, found, expression in converters:
        for convert in found:
            values[index] = convert(values[index], expression, connection)
    names = [f.attname for f in model._meta.concrete_fields]
    return model.from_db(alias, names, values)


def update_where(
    model: type[Model],
    values: Mapping[str, Any],
    where: Mapping[str, Any],
    *,
    then_insert: tuple[type[Model], Mapping[str, Any]] | None = None,
) -> int:
    """``UPDATE ... SET values WHERE where``; the number of rows it changed.

    ``then_insert`` is a (model, values) row inserted only if the UPDATE
    changed a row: in the same statement on PostgreSQL (a data-modifying
    ``WITH``), right after it elsewhere.
    """
    _plain(values)
    _plain(where)
    alias = router.db_for_write(model)
    connection = connections[alias]
    combined = then_insert is not None and connection.vendor == "postgresql"
    log_model = then_insert[0] if combined and then_insert else None
    key = (alias, connection.vendor, model, tuple(values), _shape(where), log_model)
    condition, where_params = _where(model, where, connection)
    fields = [concrete_field(model, name) for name in values]
    sql = _update_cache.get(key)
    if sql is None:
        quote = connection.ops.quote_name
        assignments = ", ".join(f"{quote(column(f))} = %s" for f in fields)
        sql = f"UPDATE {quote(model._meta.db_table)} SET {assignments} WHERE {condition}"  # noqa: S608
        if log_model is not None:
            names, casts = _insert_columns(log_model, connection)
            sql = (
                f"WITH moved AS ({sql} RETURNING 1) "  # noqa: S608
                f"INSERT INTO {quote(log_model._meta.db_table)} ({names}) "
                f"SELECT {casts} FROM moved"
            )
        _update_cache[key] = sql
    params = [f.get_db_prep_save(values[f.name], connection) for f in fields]
    params += where_params
    if log_model is not None and then_insert is not None:
        params += _insert_params(log_model, then_insert[1], connection)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        changed = int(cursor.rowcount)
    if then_insert is not None and not combined and changed:
        insert(*then_insert)
    return changed


def _insert_fields(model: type[Model]) -> list[Field[Any, Any]]:
    return [
        f
        for f in model._meta.concrete_fields
        if not f.generated and f is not model._meta.auto_field
    ]


def _insert_columns(model: type[Model], connection: BaseDatabaseWrapper) -> tuple[str, str]:
    """The column list, and typed placeholders for an ``INSERT ... SELECT``."""
    fields = _insert_fields(model)
    quote = connection.ops.quote_name
    names = ", ".join(quote(column(f)) for f in fields)
    casts = ", ".join(f"CAST(%s AS {f.cast_db_type(connection)})" for f in fields)
    return names, casts


def _insert_params(
    model: type[Model], values: Mapping[str, Any], connection: BaseDatabaseWrapper
) -> list[Any]:
    _plain(values)
    obj = model(**values)
    return [f.get_db_prep_save(f.pre_save(obj, True), connection) for f in _insert_fields(model)]


def insert(model: type[Model], values: Mapping[str, Any]) -> None:
    """INSERT one row of ``model``: ``values`` by field name, defaults for the rest.

    For append-only rows whose key the caller does not need back.
    """
    alias = router.db_for_write(model)
    connection = connections[alias]
    key = (alias, connection.vendor, model)
    sql = _insert_cache.get(key)
    if sql is None:
        names = ", ".join(connection.ops.quote_name(column(f)) for f in _insert_fields(model))
        marks = ", ".join(["%s"] * len(_insert_fields(model)))
        table = connection.ops.quote_name(model._meta.db_table)
        sql = _insert_cache[key] = f"INSERT INTO {table} ({names}) VALUES ({marks})"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, _insert_params(model, values, connection))
