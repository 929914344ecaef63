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
