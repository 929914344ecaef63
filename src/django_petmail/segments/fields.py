"""The segment field registry.

A segment rule names a *field*; the registry says what that field means in SQL (an ORM path
from the subscription, or a callable returning a ``Q``/``Exists``), its type, and which
operators it accepts. The package registers the subscription and engagement fields; host
projects register their own (pets, orders…) from ``petmail_hooks.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db.models import Q
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from ..registry import Entry, Registry


class FieldType:
    STRING = "string"
    NUMBER = "number"
    DECIMAL = "decimal"
    DATE = "date"
    DATETIME = "datetime"
    BOOLEAN = "boolean"
    CHOICE = "choice"
    LIST = "list"
    #: A length of time such as ``"30d"``; used by engagement fields ("opened in the last").
    DURATION = "duration"

    ALL = (STRING, NUMBER, DECIMAL, DATE, DATETIME, BOOLEAN, CHOICE, LIST, DURATION)


_ORDERED = ("eq", "ne", "in", "not_in", "gt", "gte", "lt", "lte", "between", "is_null")

#: Operators each type accepts unless a field narrows them.
DEFAULT_OPS: dict[str, tuple[str, ...]] = {
    FieldType.STRING: (
        "eq",
        "ne",
        "in",
        "not_in",
        "contains",
        "icontains",
        "startswith",
        "is_null",
    ),
    FieldType.NUMBER: _ORDERED,
    FieldType.DECIMAL: _ORDERED,
    FieldType.DATE: _ORDERED,
    FieldType.DATETIME: _ORDERED,
    FieldType.BOOLEAN: ("eq", "ne", "is_null"),
    FieldType.CHOICE: ("eq", "ne", "in", "not_in", "is_null"),
    FieldType.LIST: ("contains", "is_null"),
    FieldType.DURATION: ("lte", "gte"),
}

ALL_OPS: frozenset[str] = frozenset({op for ops in DEFAULT_OPS.values() for op in ops} | {"exists"})

#: ``lookup(op, value) -> Q`` for fields that are not a plain ORM path.
Lookup = Callable[[str, Any], Q]
#: ``parser(op, raw) -> value`` for fields whose values need their own checks; raises
#: ``django_petmail.exceptions.ValueProblem`` with a message for the author.
ValueParser = Callable[[str, Any], Any]


@dataclass(frozen=True)
class SegmentField:
    """What a rule's ``field`` means: SQL path or callable, type, operators, label."""

    name: str
    type: str
    label: str | Promise
    ops: tuple[str, ...]
    path: str | None = None
    lookup: Lookup | None = None
    choices: tuple[tuple[Any, str | Promise], ...] = ()
    to_many: bool = False
    value_parser: ValueParser | None = None
    #: Shown to rule authors next to the field (what it means, why a value never matches).
    help_text: str | Promise = ""


#: What the rule builder calls each operator; an operator not listed shows its name.
OPERATOR_LABELS: dict[str, str | Promise] = {
    "eq": _("is"),
    "ne": _("is not"),
    "in": _("is one of"),
    "not_in": _("is none of"),
    "gt": _("is greater than"),
    "gte": _("is at least"),
    "lt": _("is less than"),
    "lte": _("is at most"),
    "between": _("is between"),
    "is_null": _("is empty"),
    "exists": _("exists"),
    "contains": _("contains"),
    "icontains": _("contains (any case)"),
    "startswith": _("starts with"),
    "opened_in_last": _("opened an email in the last"),
    "clicked_in_last": _("clicked an email in the last"),
}

#: How to write a value of each type, for the people writing rules.
VALUE_HELP: dict[str, str | Promise] = {
    FieldType.DATE: _("A date (2024-05-31) or a relative date: -90d, -6m, -1y, +2w, today."),
    FieldType.DATETIME: _(
        "A date-time (2024-05-31T10:00), a date, or a relative date: -90d, -6m, -1y, today."
    ),
    FieldType.DURATION: _("A length of time: 30d, 4w, 6m or 1y."),
    FieldType.LIST: _("One value the list must contain."),
}


def field_catalogue() -> list[dict[str, Any]]:
    """The registered fields as JSON for rule editors (the API's ``segments/fields/`` and
    the admin's rule builder): name, label, type, operators with their labels, choices,
    help text and how to write a value. Labels are translated into the active language."""
    return [
        {
            "name": entry.name,
            "label": str(entry.obj.label),
            "type": entry.obj.type,
            "ops": list(entry.obj.ops),
            "op_labels": {op: str(OPERATOR_LABELS.get(op, op)) for op in entry.obj.ops},
            "choices": [[value, str(label)] for value, label in entry.obj.choices],
            "help_text": str(entry.obj.help_text),
            "value_help": str(VALUE_HELP.get(entry.obj.type, "")),
        }
        for entry in segment_fields
    ]


def _validate(entry: Entry[SegmentField]) -> Entry[SegmentField]:
    field = entry.obj
    if not isinstance(field, SegmentField):
        raise TypeError(f"segment field {entry.name!r} must be a SegmentField, got {field!r}.")
    if field.type not in FieldType.ALL:
        raise ValueError(
            f"segment field {entry.name!r}: unknown type {field.type!r}; "
            f"use one of {', '.join(FieldType.ALL)}."
        )
    unknown = set(field.ops) - ALL_OPS
    if unknown and field.lookup is None:
        raise ValueError(
            f"segment field {entry.name!r}: unknown operators {sorted(unknown)}; custom "
            "operators need a lookup callable."
        )
    if not field.ops:
        raise ValueError(f"segment field {entry.name!r} allows no operators.")
    if field.value_parser is not None and not callable(field.value_parser):
        raise TypeError(f"segment field {entry.name!r}: value_parser must be callable.")
    if field.path is None and field.lookup is None:
        raise ValueError(f"segment field {entry.name!r} needs a path or a lookup callable.")
    if field.lookup is not None and not callable(field.lookup):
        raise TypeError(f"segment field {entry.name!r}: lookup must be callable.")
    return entry


segment_fields: Registry[SegmentField] = Registry("segment field", validate=_validate)


def register_segment_field(
    name: str,
    *,
    type: str,
    label: str | Promise | None = None,
    ops: Sequence[str] | None = None,
    path: str | None = None,
    lookup: Lookup | None = None,
    choices: Sequence[tuple[Any, str | Promise]] | None = None,
    to_many: bool = False,
    value_parser: ValueParser | None = None,
    help_text: str | Promise = "",
    replace: bool = False,
) -> SegmentField:
    """Declare a field segment rules may use.

    ``path`` is an ORM path from ``NewsletterSubscription`` (``"owner__pets__species"``);
    with ``to_many=True`` the compiler wraps it in ``Exists`` so a member is never counted
    twice. ``lookup`` replaces the path for anything an ORM path cannot say (sums, windows).
    """
    field = SegmentField(
        name=name,
        type=type,
        label=label or name.replace("__", " ").replace("_", " ").capitalize(),
        ops=tuple(ops) if ops is not None else DEFAULT_OPS.get(type, ()),
        path=path if (path is not None or lookup is not None) else name,
        lookup=lookup,
        choices=tuple(choices or ()),
        to_many=to_many,
        value_parser=value_parser,
        help_text=help_text,
    )
    segment_fields.register(name, field, replace=replace)
    return field
