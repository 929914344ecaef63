"""One small registry type, reused by every extension point that maps names to behaviour.

Segment fields, personalization context providers, sequence triggers and skip conditions are
all :class:`Registry` instances. Host projects register in a ``petmail_hooks.py`` module of
one of their apps; :func:`autodiscover` imports those modules when the app registry is ready,
the way the admin imports ``admin.py``.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar, cast

from .exceptions import DuplicateRegistryEntry, UnknownRegistryEntry

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Entry(Generic[T]):
    """A registered object plus the metadata given at registration."""

    name: str
    obj: T
    meta: dict[str, Any] = field(default_factory=dict)


class Registry(Generic[T]):
    """Name → object mapping with metadata.

    ``register`` works as a call (``reg.register("name", obj)``) or as a decorator
    (``@reg.register("name")``). Registering a name twice is an error unless ``replace=True``,
    so two apps cannot silently shadow each other. ``validate`` (optional) checks an entry
    before it is stored and may return a normalized entry.
    """

    def __init__(
        self,
        kind: str,
        validate: Callable[[Entry[T]], Entry[T]] | None = None,
    ) -> None:
        self.kind = kind
        self._validate = validate
        self._entries: dict[str, Entry[T]] = {}

    def register(
        self, name: str, obj: T | None = None, *, replace: bool = False, **meta: Any
    ) -> Any:
        if not isinstance(name, str) or not name:
            raise ValueError(f"A {self.kind} needs a non-empty string name, got {name!r}.")

        def decorator(target: T) -> T:
            self._store(Entry(name, target, dict(meta)), replace=replace)
            return target

        if obj is None:
            return decorator
        return decorator(obj)

    def _store(self, entry: Entry[T], *, replace: bool) -> None:
        if entry.name in self._entries and not replace:
            raise DuplicateRegistryEntry(
                f"{self.kind} {entry.name!r} is already registered; "
                "pass replace=True to override it on purpose."
            )
        if self._validate is not None:
            entry = self._validate(entry)
        self._entries[entry.name] = entry

    def unregister(self, name: str) -> None:
        if name not in self._entries:
            raise UnknownRegistryEntry(self.kind, name, list(self._entries))
        del self._entries[name]

    def get_entry(self, name: str) -> Entry[T]:
        try:
            return self._entries[name]
        except KeyError:
            raise UnknownRegistryEntry(self.kind, name, list(self._entries)) from None

    def get(self, name: str) -> T:
        return self.get_entry(name).obj

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[Entry[T]]:
        return iter(list(self._entries.values()))

    def __len__(self) -> int:
        return len(self._entries)

    def names(self) -> list[str]:
        return list(self._entries)

    def choices(self) -> list[tuple[str, str]]:
        """``(name, label)`` pairs for form fields; label from ``meta['label']``."""
        return [(e.name, str(e.meta.get("label", e.name))) for e in self._entries.values()]

    def temporarily(self, name: str, obj: T, **meta: Any) -> Temporarily[T]:
        """Register ``obj`` under ``name`` for a while (tests), then restore the previous state.

        Use it as a context manager (``with reg.temporarily("x", obj) as entry:``) or as a
        decorator of a test function, sync or async (``@reg.temporarily("x", obj)``); an entry
        already registered under ``name`` is replaced meanwhile and put back afterwards.
        """
        return Temporarily(self, name, obj, meta)


class Temporarily(contextlib.ContextDecorator, Generic[T]):
    """What :meth:`Registry.temporarily` returns: a context manager and a decorator.

    Each ``with`` (or each call of a decorated function) remembers what it replaced, so uses
    can nest and a decorated function can run many times.
    """

    def __init__(self, registry: Registry[T], name: str, obj: T, meta: dict[str, Any]) -> None:
        self.registry, self.name, self.obj, self.meta = registry, name, obj, meta
        self._previous: list[Entry[T] | None] = []

    def __enter__(self) -> Entry[T]:
        entries = self.registry._entries
        previous = entries.get(self.name)
        self.registry._store(Entry(self.name, self.obj, dict(self.meta)), replace=True)
        self._previous.append(previous)
        return entries[self.name]

    def __exit__(self, *exc_info: object) -> None:
        previous = self._previous.pop()
        if previous is None:
            self.registry._entries.pop(self.name, None)
        else:
            self.registry._entries[self.name] = previous

    def __call__(self, func: F) -> F:
        if inspect.iscoroutinefunction(func):

            @functools.wraps(func)
            async def run_async(*args: Any, **kwargs: Any) -> Any:
                with self:
                    return await func(*args, **kwargs)

            return cast(F, run_async)
        return super().__call__(func)


def autodiscover() -> None:
    """Import ``petmail_hooks`` from every installed app (errors propagate, loudly)."""
    from django.utils.module_loading import autodiscover_modules

    autodiscover_modules("petmail_hooks")
