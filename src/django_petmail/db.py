"""Set-based writes the ORM does not offer: ``INSERT … SELECT``.

Fan-out (campaign sends, static segment snapshots) must never loop over recipients in
Python; this turns any queryset into the SELECT of one INSERT, run by the database.
"""

from __future__ import annotations

from typing import Any

from django.db import connections, router
from django.db.models import Model, QuerySet


def _column(model: type[Model], name: str) -> str:
    field: Any = model._meta.get_field(name)
    return str(field.column)


def insert_from_select(
    model: type[Model],
    fields: list[str],
    queryset: QuerySet[Any],
    *,
    ignore_conflicts: bool = False,
) -> int:
    """``INSERT INTO model (fields) SELECT …`` with ``queryset`` as the SELECT.

    ``queryset`` must be a ``values_list`` whose columns match ``fields`` in order. With
    ``ignore_conflicts`` rows violating a unique constraint are skipped (``ON CONFLICT DO
    NOTHING`` / ``INSERT OR IGNORE``), which makes a repeated fan-out a no-op. Returns the
    number of rows inserted.
    """
    alias = router.db_for_write(model)
    connection = connections[alias]
    select_sql, params = queryset.query.get_compiler(alias).as_sql()
    quote = connection.ops.quote_name
    columns = ", ".join(quote(_column(model, name)) for name in fields)
    table = quote(model._meta.db_table)
    verb = "INSERT"
    suffix = ""
    if ignore_conflicts:
        if connection.vendor == "sqlite":
            verb = "INSERT OR IGNORE"
        else:
            suffix = " ON CONFLICT DO NOTHING"
    sql = f"{verb} INTO {table} ({columns}) {select_sql}{suffix}"
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return int(cursor.rowcount)


def _has_update_from(connection: Any) -> bool:
    if connection.vendor != "sqlite":
        return True
    import sqlite3

    return sqlite3.sqlite_version_info >= (3, 33)


def update_from_pairs(
    model: type[Model],
    column_field: str,
    pairs: list[tuple[int, Any]],
    *,
    also: dict[str, Any] | None = None,
    increment: tuple[str, ...] = (),
    where: dict[str, Any] | None = None,
    chunk: int = 500,
) -> int:
    """Set ``column_field`` per row from ``(pk, value)`` pairs in one statement per chunk;
    returns the number of rows changed.

    ``UPDATE … SET col = v.column2 FROM (VALUES …) AS v WHERE pk = v.column1`` (PostgreSQL,
    and SQLite ≥ 3.33, both name VALUES columns ``column1``…) is a join the database hashes,
    a fraction of ``bulk_update``'s ``CASE WHEN`` per row; it runs once per batch of sends.
    In the same statement, ``also`` sets fields to one value for every row, ``increment``
    adds one to fields, and ``where`` (field → value) limits the rows, e.g. to those still
    in the state the caller saw.
    """
    if not pairs:
        return 0
    alias = router.db_for_write(model)
    connection = connections[alias]
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    column = quote(_column(model, column_field))
    pk = quote(_column(model, model._meta.pk.name))
    also, where = also or {}, where or {}
    fields = {name: model._meta.get_field(name) for name in [*also, *where]}
    constant_sql = "".join(f", {quote(_column(model, name))} = %s" for name in also)
    constant_sql += "".join(
        f", {quote(_column(model, name))} = {quote(_column(model, name))} + 1" for name in increment
    )
    where_sql = "".join(f" AND {table}.{quote(_column(model, name))} = %s" for name in where)

    def prepared(values: dict[str, Any]) -> list[Any]:
        return [
            fields[name].get_db_prep_save(value, connection)  # type: ignore[union-attr]
            for name, value in values.items()
        ]

    also_params, where_params = prepared(also), prepared(where)
    changed = 0
    with connection.cursor() as cursor:
        for start in range(0, len(pairs), chunk):
            part = pairs[start : start + chunk]
            values = ", ".join(["(%s, %s)"] * len(part))
            params: list[Any] = [item for pair in part for item in pair]
            if _has_update_from(connection):
                sql = (
                    f"UPDATE {table} SET {column} = v.column2{constant_sql} "
                    f"FROM (VALUES {values}) AS v WHERE {table}.{pk} = v.column1{where_sql}"
                )
                params = [*also_params, *params, *where_params]
            else:  # SQLite before 3.33: a correlated subquery, slower but equivalent
                sql = (
                    f"WITH v(id, value) AS (VALUES {values}) UPDATE {table} SET {column} = "
                    f"(SELECT v.value FROM v WHERE v.id = {table}.{pk}){constant_sql} "
                    f"WHERE {pk} IN (SELECT id FROM v){where_sql}"
                )
                params = [*params, *also_params, *where_params]
            cursor.execute(sql, params)
            if _has_update_from(connection) or connection.vendor != "sqlite":
                changed += max(int(cursor.rowcount), 0)
            else:  # sqlite3 reports no rowcount for a statement that starts with WITH
                cursor.execute("SELECT changes()")
                changed += int(cursor.fetchone()[0])
    return changed
