"""Comparisons of arbitrary SQL expressions as ``Q`` objects.

Segment fields that are not a plain column (a sum of orders, the latest visit) are
subqueries; :func:`compare` turns ``(expression, op, value)`` into a ``Q`` the compiler can
combine with AND/OR/NOT like any column filter.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Expression, Q
from django.db.models import lookups as L

_LOOKUPS: dict[str, type[L.Lookup]] = {
    "eq": L.Exact,
    "gt": L.GreaterThan,
    "gte": L.GreaterThanOrEqual,
    "lt": L.LessThan,
    "lte": L.LessThanOrEqual,
    "in": L.In,
}


def compare(expression: Expression, op: str, value: Any) -> Q:
    """``Q`` true where ``expression <op> value``; supports eq, ne, gt(e), lt(e), in,
    not_in, between and is_null (``value`` true → IS NULL).

    Comparisons are never SQL NULL: a NULL expression makes them false (and ``ne`` /
    ``not_in`` true), so wrapping them in NOT behaves as it reads.
    """
    if op == "is_null":
        return Q(L.IsNull(expression, bool(value)))
    if op == "ne":
        return ~compare(expression, "eq", value)
    if op == "not_in":
        return ~compare(expression, "in", value)
    not_null = Q(L.IsNull(expression, False))
    if op == "between":
        low, high = value
        return (
            Q(L.GreaterThanOrEqual(expression, low))
            & Q(L.LessThanOrEqual(expression, high))
            & not_null
        )
    try:
        lookup = _LOOKUPS[op]
    except KeyError:
        raise ValueError(f"operator {op!r} cannot compare an expression") from None
    return Q(lookup(expression, list(value) if op == "in" else value)) & not_null
