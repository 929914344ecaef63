"""The package's exceptions.

Every error raised on purpose derives from :class:`PetmailError`, and also from the built-in or
Django exception that makes the framework react correctly (a bad token becomes a 400 through
``SuspiciousOperation``; a configuration error stops start-up through ``ImproperlyConfigured``).
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ImproperlyConfigured as DjangoImproperlyConfigured
from django.core.exceptions import SuspiciousOperation


class PetmailError(Exception):
    """Root of every exception django-petmail raises deliberately."""


class PetmailImproperlyConfigured(PetmailError, DjangoImproperlyConfigured):
    """A setting is missing or wrong; the message names the setting to fix."""


class UnknownRegistryEntry(PetmailError, LookupError):
    """A registry was asked for a name nobody registered."""

    def __init__(self, registry: str, name: str, known: list[str]) -> None:
        self.registry = registry
        self.name = name
        self.known = known
        hint = ", ".join(sorted(known)) or "nothing is registered yet"
        super().__init__(f"Unknown {registry} {name!r}. Known: {hint}.")


class DuplicateRegistryEntry(PetmailError, ValueError):
    """A name was registered twice without ``replace=True``."""


class SNSVerificationError(PetmailError, SuspiciousOperation):
    """An SES webhook message is not provably from Amazon SNS for an allowed topic, or is a
    replay (answered with 400; see ``tracking.sns``)."""


class InvalidTransition(PetmailError, ValueError):
    """A state machine was asked for a move it does not allow (e.g. sent → draft)."""

    def __init__(self, kind: str, current: str, target: str) -> None:
        self.kind = kind
        self.current = current
        self.target = target
        super().__init__(f"A {kind} cannot go from {current!r} to {target!r}.")


class InvalidToken(PetmailError, SuspiciousOperation):
    """A signed link was tampered with, truncated, expired or meant for another purpose."""


class ExpiredToken(InvalidToken):
    """Genuine but too old; ``subscription_id`` allows offering a fresh link."""

    def __init__(self, message: str, subscription_id: int | None) -> None:
        super().__init__(message)
        self.subscription_id = subscription_id


class TemplateError(PetmailError, ValueError):
    """A template cannot be used; ``message`` says where and why, for the author."""


class ValueProblem(PetmailError, ValueError):
    """A segment rule value that cannot be used; the message is shown to the author.

    Raised by value parsers (``register_segment_field(value_parser=...)``); rule validation
    turns it into a :class:`RuleValidationError` entry at the value's JSON path.
    """


class RuleValidationError(PetmailError, ValueError):
    """Segment rules are invalid; ``errors`` lists ``(json_path, message)`` pairs."""

    def __init__(self, errors: list[tuple[str, str]]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{path}: {message}" for path, message in errors))

    def as_list(self) -> list[dict[str, Any]]:
        return [{"path": path, "message": message} for path, message in self.errors]


class ImportTooLarge(PetmailError, ValueError):
    """The upload is larger than ``PETMAIL["IMPORT_MAX_BYTES"]`` (surfaces answer 413)."""


class ImportFailed(PetmailError, ValueError):
    """A subscriber CSV cannot be read at all (no email column, not UTF-8); ``row`` and
    ``column`` say where."""

    def __init__(self, row: int, column: str, message: str) -> None:
        self.row, self.column, self.message = row, column, message
        super().__init__(f"row {row}, {column}: {message}")
