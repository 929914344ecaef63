"""Personalization context providers.

A context provider adds template variables for a batch of subscriptions at once:
``provider(subscriptions) -> {subscription_pk: {name: value}}``. Batching is the contract, so
a provider that needs host data prefetches it once per batch, never once per recipient.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ..adapter import get_adapter
from ..registry import Entry, Registry

ContextProvider = Callable[[Sequence[Any]], dict[int, dict[str, Any]]]


def _validate(entry: Entry[ContextProvider]) -> Entry[ContextProvider]:
    if not callable(entry.obj):
        raise TypeError(f"context provider {entry.name!r} must be callable.")
    return entry


context_providers: Registry[ContextProvider] = Registry("context provider", validate=_validate)


def register_context_provider(name: str, fn: ContextProvider | None = None, **meta: Any) -> Any:
    """Register a batch context provider (call or decorator)."""
    return context_providers.register(name, fn, **meta)


def build_contexts(subscriptions: Sequence[Any]) -> dict[int, dict[str, Any]]:
    """Adapter context merged with every registered provider's, for one batch.

    Later providers win on a name clash, so a host can refine the adapter's defaults.
    """
    contexts = get_adapter().get_personalization_context(subscriptions)
    for entry in context_providers:
        for pk, extra in entry.obj(subscriptions).items():
            contexts.setdefault(pk, {}).update(extra)
    return contexts
