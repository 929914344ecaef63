"""Compile a validated rule tree into one ``Q`` over ``NewsletterSubscription``.

* Plain paths become column filters (joined through the owner when they start ``owner__``).
* Paths that cross a to-many relation become ``Exists`` subqueries, so a member matched by
  two pets is still one member and no ``DISTINCT`` over the whole table is needed.
* Registered callables return their own ``Q`` / ``Exists``.

A condition on a to-many path holds when *any* related row satisfies it; wrap it in
``{"not": …}`` for "none".
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.db.models import Exists, F, Model, OuterRef, Q

from ..exceptions import RuleValidationError
from .fields import FieldType, SegmentField
from .lookups import JSONListContains
from .rules import Condition, Group, Node, Not
from .values import resolve

_DJANGO_LOOKUPS = {
    "eq": "exact",
    "ne": "exact",
    "in": "in",
    "not_in": "in",
    "gt": "gt",
    "gte": "gte",
    "lt": "lt",
    "lte": "lte",
    "between": "range",
    "contains": "contains",
    "icontains": "icontains",
    "startswith": "startswith",
    "is_null": "isnull",
}
_NEGATED = frozenset({"ne", "not_in"})


def compile_rules(node: Node | None) -> Q:
    """``Q`` selecting the subscriptions the rules describe (``Q()`` — everyone — for none).

    Errors raised by registered callables are reported as :class:`RuleValidationError` at
    the condition's path, never as a server error.
    """
    if node is None:
        return Q()
    if isinstance(node, Group):
        combined = Q()
        for child in node.children:
            q = compile_rules(child)
            combined = (combined & q) if node.operator == "AND" else (combined | q)
        return combined
    if isinstance(node, Not):
        return ~compile_rules(node.child)
    return _condition(node)


def _condition(cond: Condition) -> Q:
    field = cond.field
    try:
        value = resolve(cond.value, as_datetime=False)
        if field.lookup is not None:
            q = field.lookup(cond.op, value)
            if not isinstance(q, Q):
                q = Q(q)
            return q
        assert field.path is not None
        if field.to_many:
            return _to_many(field, cond.op, value)
        return _column(field.path, field, cond.op, value)
    except RuleValidationError:
        raise
    except Exception as exc:
        raise RuleValidationError(
            [(cond.path or "rules", f"field {field.name!r} could not be evaluated: {exc}")]
        ) from exc


def _lookup_path(path: str, field: SegmentField, op: str, value: Any) -> tuple[str, Any]:
    """The ORM lookup for ``op`` on ``path`` (dates against a date-time compare by day)."""
    if field.type == FieldType.DATETIME and _is_plain_date(value):
        path = f"{path}__date"
    if op == "is_null":
        return f"{path}__isnull", bool(value)
    return f"{path}__{_DJANGO_LOOKUPS[op]}", tuple(value) if op == "between" else value


def _is_plain_date(value: Any) -> bool:
    sample = value[0] if isinstance(value, list) and value else value
    return isinstance(sample, dt.date) and not isinstance(sample, dt.datetime)


def _column(path: str, field: SegmentField, op: str, value: Any) -> Q:
    if field.type == FieldType.LIST and op == "contains":
        return Q(JSONListContains(F(path), value))
    if field.type == FieldType.LIST and op == "is_null":
        empty = Q(**{f"{path}__isnull": True}) | Q(**{path: []})
        return empty if value else ~empty
    lookup, lookup_value = _lookup_path(path, field, op, value)
    q = Q(**{lookup: lookup_value})
    return ~q if op in _NEGATED else q


def _to_many(field: SegmentField, op: str, value: Any) -> Q:
    from ..models import NewsletterSubscription

    assert field.path is not None
    related, link, outer, rest = split_to_many(NewsletterSubscription, field.path)
    rows = related._default_manager.filter(**{link: OuterRef(outer)})
    if op == "exists":
        exists = Exists(rows)
        return Q(exists) if value else ~Q(exists)
    if not rest:
        raise ValueError(f"path {field.path!r} ends at a relation; only 'exists' applies")
    rows = rows.filter(_column(rest, field, op, value))
    return Q(Exists(rows))


def split_to_many(model: type[Model], path: str) -> tuple[type[Model], str, str, str]:
    """Split ``owner__pets__species`` at its first to-many hop.

    Returns ``(related_model, link_to_outer, outer_ref_path, rest)``: the subquery runs over
    ``related_model`` filtered by ``link_to_outer = OuterRef(outer_ref_path)``, and ``rest``
    (``species``) is filtered inside it.
    """
    parts = path.split("__")
    current: type[Model] = model
    prefix: list[str] = []
    for index, part in enumerate(parts):
        try:
            field: Any = current._meta.get_field(part)
        except FieldDoesNotExist:
            break
        if not field.is_relation:
            break
        related = field.related_model
        assert related is not None and not isinstance(related, str)
        if field.one_to_many or field.many_to_many:
            outer = "__".join(prefix) or "pk"
            # Reverse FK / reverse M2M: the linking field lives on `related`; a forward M2M
            # declared on `current` is reached from `related` by its related query name.
            link = field.field.name if field.auto_created else field.related_query_name()
            return related, link, outer, "__".join(parts[index + 1 :])
        prefix.append(part)
        current = related
    raise ValueError(f"path {path!r} crosses no to-many relation; register it without to_many")
