"""Segment rules: validation into a typed tree, with every error's JSON path.

Rules are JSON written by people (in the admin, through the API), so validation reports *all*
problems at once, each with where it is (``conditions[1].op``) and what to do about it. The
result is a tree of :class:`Group`, :class:`Not` and :class:`Condition` whose values are
already coerced to the field's type; relative dates stay symbolic until evaluation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Union

from django.utils.translation import gettext as _

from ..conf import petmail_settings
from ..exceptions import RuleValidationError, UnknownRegistryEntry
from . import values as v
from .fields import FieldType, SegmentField, segment_fields


@dataclass(frozen=True)
class Condition:
    field: SegmentField
    op: str
    value: Any
    path: str = ""  # where it sits in the rules, for errors raised while compiling


@dataclass(frozen=True)
class Group:
    operator: str  # "AND" | "OR"
    children: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    child: Node


Node = Union[Condition, Group, Not]  # noqa: UP007 - a runtime alias, not an annotation

#: Operators whose value is a list.
LIST_OPS = frozenset({"in", "not_in"})
#: Operators that take a ``[low, high]`` pair.
PAIR_OPS = frozenset({"between"})
#: Operators whose value is a boolean whatever the field type.
BOOL_OPS = frozenset({"is_null", "exists"})


def is_single_condition(rules: Any) -> bool:
    """Whether ``rules`` is one condition (``{"field": …}``) rather than a group."""
    return isinstance(rules, dict) and "field" in rules and not _GROUP_KEYS & set(rules)


def wrap_single_condition(rules: Any) -> Any:
    """``{"field": …}`` → ``{"operator": "AND", "conditions": [{"field": …}]}``; anything
    else unchanged. Authors naturally start with one condition; stored rules are groups."""
    if is_single_condition(rules):
        return {"operator": "AND", "conditions": [rules]}
    return rules


_GROUP_KEYS = frozenset({"operator", "conditions", "not"})


def validate_rules(rules: Any) -> Group | None:
    """Validate and normalize; ``None`` for empty rules (everyone). A single condition is
    read as a group of one (see :func:`wrap_single_condition`; error paths then start with
    ``conditions[0]``). Raises :class:`RuleValidationError` listing every problem; its
    messages are translated into the active language."""
    if rules in (None, {}):
        return None
    errors: list[tuple[str, str]] = []
    if not isinstance(rules, dict):
        raise RuleValidationError(
            [
                (
                    "rules",
                    _("must be an object with 'operator' and 'conditions', got %(type)s")
                    % {"type": type(rules).__name__},
                )
            ]
        )
    node = _node(wrap_single_condition(rules), "", 1, errors, root=True)
    if errors:
        raise RuleValidationError(errors)
    if isinstance(node, Not):  # a top-level {"not": …} is a group of one
        node = Group("AND", (node,))
    assert isinstance(node, Group)
    return node


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def _node(
    data: Any, path: str, depth: int, errors: list[tuple[str, str]], root: bool = False
) -> Node | None:
    max_depth = petmail_settings.SEGMENT_MAX_DEPTH
    where = path or "rules"
    if not isinstance(data, dict):
        errors.append(
            (
                where,
                _("must be an object (a condition or a group), got %(type)s")
                % {"type": type(data).__name__},
            )
        )
        return None
    # Depth counts groups and `not`s (the root group is level 1); conditions add no level.
    is_group = "not" in data or "conditions" in data or "operator" in data or root
    if is_group and depth > max_depth:
        errors.append(
            (where, _("groups nest deeper than the limit of %(max)d levels") % {"max": max_depth})
        )
        return None
    if "not" in data:
        extra = set(data) - {"not"}
        if extra:
            errors.append(
                (
                    where,
                    _("a 'not' object has no other keys, found %(keys)s") % {"keys": sorted(extra)},
                )
            )
        child = _node(data["not"], _join(path, "not"), depth + 1, errors)
        return Not(child) if child is not None else None
    if "conditions" in data or "operator" in data or root:
        return _group(data, path, depth, errors)
    return _condition(data, path, errors)


def _group(
    data: dict[str, Any], path: str, depth: int, errors: list[tuple[str, str]]
) -> Group | None:
    operator = data.get("operator", "AND")
    ok = True
    if not isinstance(operator, str) or operator.upper() not in {"AND", "OR"}:
        errors.append(
            (_join(path, "operator"), _("must be 'AND' or 'OR', got %(op)r") % {"op": operator})
        )
        ok = False
    conditions = data.get("conditions")
    extra = set(data) - {"operator", "conditions"}
    if extra:
        errors.append(
            (path or "rules", _("unknown keys %(keys)s in a group") % {"keys": sorted(extra)})
        )
    if not isinstance(conditions, list):
        errors.append((_join(path, "conditions"), _("must be a list of conditions or groups")))
        return None
    if not conditions:
        errors.append((_join(path, "conditions"), _("a group needs at least one condition")))
        return None
    children = []
    for index, child in enumerate(conditions):
        node = _node(child, f"{_join(path, 'conditions')}[{index}]", depth + 1, errors)
        if node is None:
            ok = False
        else:
            children.append(node)
    if not ok:
        return None
    return Group(str(operator).upper(), tuple(children))


def _condition(data: dict[str, Any], path: str, errors: list[tuple[str, str]]) -> Condition | None:
    extra = set(data) - {"field", "op", "value"}
    if extra:
        errors.append((path, _("unknown keys %(keys)s in a condition") % {"keys": sorted(extra)}))
    name = data.get("field")
    if not isinstance(name, str) or not name:
        errors.append((_join(path, "field"), _("is required and must be a field name")))
        return None
    try:
        field = segment_fields.get(name)
    except UnknownRegistryEntry:
        known = ", ".join(sorted(segment_fields.names()))
        errors.append(
            (
                _join(path, "field"),
                _("unknown field %(name)r; known fields: %(known)s")
                % {"name": name, "known": known},
            )
        )
        return None
    op = data.get("op")
    if not isinstance(op, str) or op not in field.ops:
        allowed = ", ".join(field.ops)
        if isinstance(op, str):
            message = _(
                "%(op)r is not allowed for field %(name)r (%(type)s); use one of %(allowed)s"
            ) % {"op": op, "name": name, "type": field.type, "allowed": allowed}
        else:
            message = _("is required; use one of %(allowed)s") % {"allowed": allowed}
        errors.append((_join(path, "op"), message))
        return None
    if "value" not in data:
        errors.append((_join(path, "value"), _("is required")))
        return None
    try:
        value = coerce_value(field, op, data["value"])
    except v.ValueProblem as problem:
        errors.append((_join(path, "value"), str(problem)))
        return None
    except Exception as exc:  # a host's value_parser failed: still the author's answer
        errors.append(
            (
                _join(path, "value"),
                _("could not be read for field %(name)r: %(error)s") % {"name": name, "error": exc},
            )
        )
        return None
    return Condition(field, op, value, path)


def coerce_value(field: SegmentField, op: str, raw: Any) -> Any:
    """Check ``raw`` against the field's type for this operator and return it coerced."""
    if op in BOOL_OPS:
        if not isinstance(raw, bool):
            raise v.ValueProblem(
                _("'%(op)s' takes true or false, got %(value)r") % {"op": op, "value": raw}
            )
        return raw
    if field.value_parser is not None:
        return field.value_parser(op, raw)
    if op in LIST_OPS:
        if not isinstance(raw, list):
            raise v.ValueProblem(
                _("'%(op)s' takes a list of values, got %(type)s")
                % {"op": op, "type": type(raw).__name__}
            )
        limit = petmail_settings.SEGMENT_MAX_IN_VALUES
        if not raw:
            raise v.ValueProblem(_("'%(op)s' needs at least one value") % {"op": op})
        if len(raw) > limit:
            raise v.ValueProblem(
                _("'%(op)s' takes at most %(limit)d values, got %(count)d")
                % {"op": op, "limit": limit, "count": len(raw)}
            )
        return [_scalar(field, item) for item in raw]
    if op in PAIR_OPS:
        if not isinstance(raw, list) or len(raw) != 2:
            raise v.ValueProblem(_("'between' takes a list of two values [low, high]"))
        return [_scalar(field, raw[0]), _scalar(field, raw[1])]
    if field.type == FieldType.LIST:
        if not isinstance(raw, str) or not raw or len(raw) > 200:
            raise v.ValueProblem(
                _("'%(op)s' on a list takes one non-empty text value, got %(value)r")
                % {"op": op, "value": raw}
            )
        return raw
    return _scalar(field, raw)


def _scalar(field: SegmentField, raw: Any) -> Any:
    kind = field.type
    if kind in (FieldType.STRING, FieldType.CHOICE):
        if not isinstance(raw, str):
            raise v.ValueProblem(_("expected text, got %(value)r") % {"value": raw})
        if len(raw) > 500:
            raise v.ValueProblem(_("text values are limited to 500 characters"))
        if kind == FieldType.CHOICE and field.choices:
            allowed = [str(c[0]) for c in field.choices]
            if raw not in allowed:
                raise v.ValueProblem(
                    _("%(value)r is not one of %(allowed)s")
                    % {"value": raw, "allowed": ", ".join(allowed)}
                )
        return raw
    if kind == FieldType.NUMBER:
        return v.coerce_number(raw)
    if kind == FieldType.DECIMAL:
        return v.coerce_decimal(raw)
    if kind == FieldType.DATE:
        return v.coerce_date(raw)
    if kind == FieldType.DATETIME:
        return v.coerce_datetime(raw)
    if kind == FieldType.BOOLEAN:
        if not isinstance(raw, bool):
            raise v.ValueProblem(_("expected true or false, got %(value)r") % {"value": raw})
        return raw
    if kind == FieldType.DURATION:
        return v.parse_duration_days(raw)
    raise v.ValueProblem(
        _("values of type %(type)r cannot be used with this operator") % {"type": kind}
    )
