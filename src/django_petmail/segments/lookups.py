"""SQL for "this JSON list contains this value", on PostgreSQL and SQLite.

Django's ``JSONField`` ``contains`` lookup does not exist on SQLite, and topics are a JSON
list, so the element test is written once here for both databases and used as an expression
(``Q(JSONListContains(F("topics"), "news"))``) wherever topics are filtered.
"""

from __future__ import annotations

import json
from typing import Any

from django.db.models import BooleanField, Expression, F, Func, Q


class JSONListContains(Func):
    """True when the JSON array ``expression`` has ``value`` as an element."""

    output_field = BooleanField()
    conditional = True

    def __init__(self, expression: Any, value: str) -> None:
        super().__init__(expression)
        self.element = value

    def as_sql(self, compiler: Any, connection: Any, *args: Any, **extra: Any) -> Any:
        raise NotImplementedError(f"JSONListContains is not available on {connection.vendor}")

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        lhs, lhs_params = compiler.compile(self.source_expressions[0])
        return f"({lhs})::jsonb @> %s::jsonb", (*lhs_params, json.dumps([self.element]))

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        lhs, lhs_params = compiler.compile(self.source_expressions[0])
        value = self.element
        sql = (
            f"EXISTS (SELECT 1 FROM json_each(CASE WHEN json_valid({lhs}) "
            f"AND json_type({lhs}) = 'array' THEN {lhs} ELSE '[]' END) "
            f"WHERE json_each.value = %s)"
        )
        return sql, (*lhs_params, *lhs_params, *lhs_params, value)


def topic_q(expression: Expression | str, topic: str) -> Any:
    target = F(expression) if isinstance(expression, str) else expression
    return Q(JSONListContains(target, topic))
