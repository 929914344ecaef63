"""The public surface for host projects: everything a ``petmail_hooks.py`` or an adapter needs.

Import from here, never from the package's internal modules, which may move between releases::

    from django_petmail.hooks import FieldType, register_segment_field

    register_segment_field("pets__species", type=FieldType.CHOICE, path="owner__pets__species",
                           choices=Species.choices, to_many=True)

What this module offers:

* **Registration**: :func:`register_segment_field`, :func:`register_context_provider`,
  :func:`register_trigger`, :func:`register_skip_condition`; each works as a call, and all but
  the first as a decorator. Registries are filled from a ``petmail_hooks`` module of any
  installed app, which django-petmail imports when the app registry is ready.
* **Helpers for segment fields**: :class:`FieldType` (field types), :func:`compare` (a ``Q``
  comparing any SQL expression), :func:`parse_duration_days` and :class:`ValueProblem` (for
  ``value_parser`` callables).
* **Revenue**: :func:`record_conversion` when a recipient converts (an order is paid), and
  :func:`refund_conversion` when it is refunded; see ``docs/attribution.md``.
* **The adapter**: :class:`PetmailAdapter` to subclass (named in ``PETMAIL["ADAPTER"]``) and
  :func:`get_adapter` for the configured instance.
* **The owner model**: :func:`get_owner_model` (``PETMAIL_OWNER_MODEL``, else the user model).
* **The registries themselves** (``segment_fields``, ``context_providers``,
  ``sequence_triggers``, ``skip_conditions``), for ``temporarily`` in tests.

Every name is listed in ``__all__``; names not listed here are not public.
"""

from __future__ import annotations

from . import record_conversion, refund_conversion, trigger
from .adapter import PetmailAdapter, get_adapter
from .conf import get_owner_model
from .exceptions import ValueProblem
from .rendering.context import context_providers, register_context_provider
from .segments.expressions import compare
from .segments.fields import FieldType, register_segment_field, segment_fields
from .segments.values import parse_duration_days
from .sequences.registry import (
    TriggerKind,
    register_skip_condition,
    register_trigger,
    sequence_triggers,
    skip_conditions,
)

__all__ = [
    "FieldType",
    "PetmailAdapter",
    "TriggerKind",
    "ValueProblem",
    "compare",
    "context_providers",
    "get_adapter",
    "get_owner_model",
    "parse_duration_days",
    "record_conversion",
    "refund_conversion",
    "register_context_provider",
    "register_segment_field",
    "register_skip_condition",
    "register_trigger",
    "segment_fields",
    "sequence_triggers",
    "skip_conditions",
    "trigger",
]
