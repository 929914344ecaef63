"""Registries for sequence triggers and skip conditions, and the checks of what refers to them.

* A **trigger** says who enters a sequence. A *scheduled* trigger is a callable
  ``(sequence, now) -> QuerySet`` of owners, evaluated by ``process_automated_sequences`` as
  one ``INSERT … SELECT``; an *event* trigger is fired by the host with
  :func:`django_petmail.trigger` when the event happens, and its callable
  ``(sequence, data) -> bool`` says whether this event (with its ``data``) enrolls for that
  sequence. Either way no code runs once per owner of a whole table.
* A trigger declares the ``trigger_conditions`` it accepts: ``conditions={"days_before":
  int}``. A sequence's conditions are checked against that declaration when it is saved, so a
  typo is an error naming the key, not a condition silently ignored.
* A **skip condition** is a callable ``(value) -> Q`` over the owner model: owners matching
  the ``Q`` skip the step, so a whole batch of due enrollments is filtered in one query.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from enum import StrEnum
from typing import Any

from django.db.models import Q

from ..registry import Entry, Registry


class TriggerKind(StrEnum):
    SCHEDULED = "scheduled"
    EVENT = "event"


#: The value types a trigger condition may declare, and how an error names them.
CONDITION_TYPES: dict[type, str] = {
    int: "a whole number",
    float: "a number",
    bool: "true or false",
    str: "a text",
}
#: Whole-number conditions (days, hours, counts) stay within this range.
MAX_CONDITION_INT = 100_000


def _validate_trigger(entry: Entry[Callable[..., Any]]) -> Entry[Callable[..., Any]]:
    if not callable(entry.obj):
        raise TypeError(f"sequence trigger {entry.name!r} must be callable.")
    kind = entry.meta.setdefault("kind", TriggerKind.SCHEDULED)
    try:
        entry.meta["kind"] = TriggerKind(kind)
    except ValueError:
        raise ValueError(
            f"sequence trigger {entry.name!r}: kind must be one of "
            f"{[k.value for k in TriggerKind]}, got {kind!r}."
        ) from None
    conditions = entry.meta.setdefault("conditions", {})
    if not isinstance(conditions, Mapping) or not all(
        isinstance(key, str) and value in CONDITION_TYPES for key, value in conditions.items()
    ):
        raise TypeError(
            f"sequence trigger {entry.name!r}: conditions must map names to one of "
            f"{[t.__name__ for t in CONDITION_TYPES]}, got {conditions!r}."
        )
    return entry


def _validate_skip(entry: Entry[Callable[[Any], Q]]) -> Entry[Callable[[Any], Q]]:
    if not callable(entry.obj):
        raise TypeError(f"skip condition {entry.name!r} must be callable.")
    return entry


sequence_triggers: Registry[Callable[..., Any]] = Registry(
    "sequence trigger", validate=_validate_trigger
)
skip_conditions: Registry[Callable[[Any], Q]] = Registry("skip condition", validate=_validate_skip)


def register_trigger(name: str, fn: Callable[..., Any] | None = None, **meta: Any) -> Any:
    """Register a trigger (call or decorator).

    ``kind="scheduled"`` (default): ``fn(sequence, now) -> QuerySet`` of owners.
    ``kind="event"``: ``fn(sequence, data) -> bool``, fired with :func:`django_petmail.trigger`.
    ``conditions={"name": int | float | bool | str}`` declares the accepted conditions;
    ``label`` is what the admin shows.
    """
    return sequence_triggers.register(name, fn, **meta)


def register_skip_condition(name: str, fn: Callable[[Any], Q] | None = None, **meta: Any) -> Any:
    """Register a skip condition (call or decorator): ``fn(value) -> Q`` over owners."""
    return skip_conditions.register(name, fn, **meta)


def accept_every_event(sequence: Any, data: Mapping[str, Any]) -> bool:
    """The matcher of event triggers that have no condition of their own."""
    return True


def _type_error(value: Any, expected: type) -> str | None:
    if expected is float:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
    elif expected is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
        if ok and not 0 <= value <= MAX_CONDITION_INT:
            return f"must be from 0 to {MAX_CONDITION_INT}"
    else:
        ok = isinstance(value, expected)
        if ok and expected is str and len(value) > 200:
            return "must be at most 200 characters"
    return None if ok else f"must be {CONDITION_TYPES[expected]}, got {value!r}"


def condition_errors(trigger: str, conditions: Any) -> list[str]:
    """What is wrong with ``conditions`` for the registered ``trigger`` (every problem,
    each naming its key)."""
    if trigger not in sequence_triggers:
        return []  # reported once, on the trigger itself
    if not isinstance(conditions, dict):
        return [f"must be an object of conditions, got {type(conditions).__name__}"]
    declared: Mapping[str, type] = sequence_triggers.get_entry(trigger).meta["conditions"]
    errors = []
    for key, value in conditions.items():
        if key not in declared:
            known = ", ".join(sorted(declared)) or "none"
            errors.append(f"{key}: unknown condition for trigger {trigger!r}; known: {known}")
            continue
        problem = _type_error(value, declared[key])
        if problem:
            errors.append(f"{key}: {problem}")
    return errors


def trigger_error(name: str, *, kind: TriggerKind | None = None) -> str | None:
    """Why ``name`` cannot be used as a trigger (of ``kind``), or ``None``."""
    if name not in sequence_triggers:
        known = ", ".join(sorted(sequence_triggers.names())) or "nothing is registered yet"
        return f"unknown trigger {name!r}; known: {known}"
    actual = sequence_triggers.get_entry(name).meta["kind"]
    if kind is not None and actual != kind:
        return f"trigger {name!r} is {actual}, not {kind}"
    return None


def sequence_errors(sequence: Any) -> dict[str, list[str]]:
    """Field → problems of a sequence's trigger settings (empty when it can run).

    Used by the model's ``clean()`` (admin and API) and by the system check for rows stored
    before a trigger was unregistered.
    """
    errors: dict[str, list[str]] = {}
    name = sequence.trigger_name
    field = "custom_trigger" if sequence.trigger_type == "custom" else "trigger_type"
    if not name:
        errors[field] = ["a custom trigger needs the name of a registered trigger"]
    elif problem := trigger_error(name):
        errors[field] = [problem]
    elif problems := condition_errors(name, sequence.trigger_conditions):
        errors["trigger_conditions"] = problems
    if sequence.goal_trigger and (
        problem := trigger_error(sequence.goal_trigger, kind=TriggerKind.EVENT)
    ):
        errors["goal_trigger"] = [problem]
    return errors


def skip_condition_errors(skip_if: Any) -> list[str]:
    """Problems of a step's ``skip_if`` (``{"condition name": value}``)."""
    if not isinstance(skip_if, dict):
        return [f"must be an object of skip conditions, got {type(skip_if).__name__}"]
    known = ", ".join(sorted(skip_conditions.names())) or "nothing is registered yet"
    return [
        f"{name}: unknown skip condition; known: {known}"
        for name in skip_if
        if name not in skip_conditions
    ]
