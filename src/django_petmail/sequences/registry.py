"""Registries for sequence triggers and skip conditions.

* A **trigger** finds who should be enrolled. Scheduled triggers (birthday, vaccination due,
  inactivity, abandoned cart) are callables ``(sequence, now) -> QuerySet`` of owners, run by
  the periodic task; event triggers (signup, purchase) are fired by the host when the event
  happens. Either way the callable answers in SQL, never one owner at a time.
* A **skip condition** is a callable ``(value) -> Q`` over the owner model: owners matching
  the ``Q`` skip the step, so a whole batch of due enrollments is filtered in one query.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db.models import Q

from ..registry import Entry, Registry

TRIGGER_KINDS = ("scheduled", "event")


def _validate_trigger(entry: Entry[Callable[..., Any]]) -> Entry[Callable[..., Any]]:
    if not callable(entry.obj):
        raise TypeError(f"sequence trigger {entry.name!r} must be callable.")
    kind = entry.meta.setdefault("kind", "scheduled")
    if kind not in TRIGGER_KINDS:
        raise ValueError(
            f"sequence trigger {entry.name!r}: kind must be one of {TRIGGER_KINDS}, got {kind!r}."
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
    """Register a trigger (call or decorator); ``kind="scheduled"`` (default) or ``"event"``."""
    return sequence_triggers.register(name, fn, **meta)


def register_skip_condition(name: str, fn: Callable[[Any], Q] | None = None, **meta: Any) -> Any:
    """Register a skip condition (call or decorator): ``fn(value) -> Q`` over owners."""
    return skip_conditions.register(name, fn, **meta)
