"""Comparisons of arbitrary SQL expressions as ``Q`` objects.

Segment fields that are not a plain column (a sum of orders, the latest visit) are
subqueries; :func:`compare` turns ``(expression, op, value)`` into a ``Q`` the compiler can
combine with AND/OR/NOT like any column filter.
"""

from __future__ import annotations

from typing import Any

from django.db.models import BooleanField, Expression, Q, Value
from django.db.models import lookups as L
from django.db.models.functions import Coalesce

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
    if op == "between":
        low, high = value
        return _never_null(L.GreaterThanOrEqual(expression, low)) & _never_null(
            L.LessThanOrEqual(expression, high)
        )
    try:
        lookup = _LOOKUPS[op]
    except KeyError:
        raise ValueError(f"operator {op!r} cannot compare an expression") from None
    return _never_null(lookup(expression, list(value) if op == "in" else value))


def _never_null(comparison: L.Lookup) -> Q:
    # COALESCE(expr <op> value, FALSE): one evaluation of a (possibly costly) subquery,
    # where "AND expr IS NOT NULL" would run it twice.
    return Q(Coalesce(comparison, Value(False), output_field=BooleanField()))
