"""The ``PETMAIL`` settings object.

Host projects configure the package through one dict, ``settings.PETMAIL``, plus the top-level
``PETMAIL_OWNER_MODEL`` (a top-level setting because migrations need it, like
``AUTH_USER_MODEL``). Values are read when used, never copied at import time, and the cache is
dropped on Django's ``setting_changed`` signal so ``override_settings`` works in tests.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.signals import setting_changed
from django.utils.module_loading import import_string

from .exceptions import PetmailImproperlyConfigured

DEFAULTS: dict[str, Any] = {
    # Host integration
    "ADAPTER": "django_petmail.adapter.PetmailAdapter",
    "SITE_URL": None,
    "FROM_EMAIL": None,
    "REPLY_TO": None,
    "POSTAL_ADDRESS": "",
    # Subscriptions
    "TOPICS": ["promotions", "pet_tips", "news", "reminders"],
    "DEFAULT_TOPICS": ["promotions", "pet_tips", "news", "reminders"],
    "LANGUAGES": ["es", "en"],
    "DEFAULT_LANGUAGE": "es",
    "CONFIRMATION_MAX_AGE": 7 * 24 * 3600,
    "PREFERENCES_MAX_AGE": 365 * 24 * 3600,
    "UNSUBSCRIBE_MAILTO": None,
    "SUBSCRIBE_RATE_LIMIT_PER_IP": "20/h",
    "SUBSCRIBE_RATE_LIMIT_PER_ADDRESS": "3/h",
    "CONSENT_FORM_VERSION": "v1",
    # Personalization and rendering
    "FALLBACK_FIRST_NAME": "Amigo",
    "INLINE_CSS": True,
    # Segments
    "SEGMENT_MAX_DEPTH": 5,
    "SEGMENT_MAX_IN_VALUES": 1000,
    # Sending
    "BATCH_SIZE": 500,
    "SEND_CONCURRENCY": 2,
    "SEND_IN_PROCESS": False,
    "SEND_TIME_BUDGET": 30,
    "RATE_LIMIT_PER_SECOND": 0,
    "SEND_LEASE_SECONDS": 900,
    "MAX_RETRIES": 5,
    "FREQUENCY_CAPS": {"weekly": (1, 7), "monthly": (1, 30)},
    # A/B testing
    "AB_CONFIDENCE": 0.95,
    "AB_DEFAULT_WINNER": "A",
    # Tracking and analytics
    "TRACK_OPENS": True,
    "TRACK_CLICKS": True,
    "MACHINE_OPEN_SECONDS": 2,
    "MACHINE_OPEN_NETWORKS": ["17.0.0.0/8"],
    "REVENUE_ATTRIBUTION_DAYS": 7,
    "REVENUE_ATTRIBUTE_OPENS": False,
    "CURRENCY": "EUR",
    # Deliverability (docs/deliverability.md)
    "SNS_VERIFY_SIGNATURES": True,
    "SNS_TOPIC_ARNS": [],
    "SNS_MAX_AGE": 3600,
    "WEBHOOK_MAX_BYTES": 256 * 1024,
    # CSV import (docs/import-export.md)
    "IMPORT_MAX_BYTES": 50 * 1024 * 1024,
    "SOFT_BOUNCE_LIMIT": 3,
    "SOFT_BOUNCE_DAYS": 30,
    "REPUTATION_BOUNCE_RATE": 5.0,
    "REPUTATION_COMPLAINT_RATE": 0.1,
    "REPUTATION_MIN_SENT": 200,
}

# Settings holding a dotted path that is imported on first use.
IMPORT_STRINGS: frozenset[str] = frozenset({"ADAPTER"})


def _integer(
    minimum: int = 0, *, none_is: int | None = None, seconds: bool = False
) -> Callable[[Any], int]:
    """A whole number ≥ ``minimum``; with ``seconds=True`` a ``timedelta`` is accepted too."""

    def check(value: Any) -> int:
        if value is None and none_is is not None:
            return none_is
        if seconds and isinstance(value, dt.timedelta):
            value = value.total_seconds()
        integral_float = isinstance(value, float) and value.is_integer()
        if integral_float or (isinstance(value, str) and value.strip().lstrip("-").isdigit()):
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"expected a whole number, got {value!r}")
        if value < minimum:
            raise ValueError(f"expected a whole number of at least {minimum}, got {value!r}")
        return value

    return check


def _seconds(value: Any) -> float:
    if isinstance(value, dt.timedelta):
        value = value.total_seconds()
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise ValueError(f"expected a positive number of seconds, got {value!r}")
    return float(value)


def _seconds_or_zero(value: Any) -> float:
    if isinstance(value, dt.timedelta):
        value = value.total_seconds()
    if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0:
        raise ValueError(f"expected a number of seconds (0 or more), got {value!r}")
    return float(value)


def _networks(value: Any) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    networks = []
    for item in _codes(value):
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ValueError(f"expected IP networks such as '17.0.0.0/8', got {item!r}") from None
    return tuple(networks)


def _fraction(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < 1:
        raise ValueError(f"expected a number between 0 and 1 (exclusive), got {value!r}")
    return float(value)


def _percent(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 100:
        raise ValueError(f"expected a percentage above 0 and at most 100, got {value!r}")
    return float(value)


def _boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"expected True or False, got {value!r}")
    return value


def _text(*, empty: bool = True) -> Callable[[Any], str]:
    def check(value: Any) -> str:
        if not isinstance(value, str) or (not empty and not value.strip()):
            raise ValueError(f"expected {'a' if empty else 'a non-empty'} string, got {value!r}")
        return value

    return check


def _optional_text(value: Any) -> str | None:
    if value is None or value == "":
        return None
    return _text()(value)


def _site_url(value: Any) -> str | None:
    """Without trailing slash, so ``SITE_URL + path`` never doubles it."""
    url = _optional_text(value)
    return url.rstrip("/") if url else None


def _codes(value: Any) -> list[str]:
    if isinstance(value, str) or not isinstance(value, list | tuple):
        raise ValueError(f"expected a list of strings, got {value!r}")
    for item in value:
        if not isinstance(item, str) or not item:
            raise ValueError(f"expected a list of non-empty strings, got {value!r}")
    return list(value)


def _addresses(value: Any) -> list[str]:
    """One address or a list of them; ``None`` or empty is none."""
    if not value:
        return []
    return _codes([value] if isinstance(value, str) else value)


def _rate(value: Any) -> tuple[int, int] | None:
    from .ratelimit import parse_rate

    try:
        return parse_rate(value)
    except PetmailImproperlyConfigured as exc:
        raise ValueError(exc) from None


def _frequency_caps(value: Any) -> dict[str, tuple[int, int]]:
    if not isinstance(value, dict):
        raise ValueError(f"expected a dict of frequency -> (messages, days), got {value!r}")
    caps: dict[str, tuple[int, int]] = {}
    positive = _integer(1)
    for frequency, cap in value.items():
        if not isinstance(frequency, str) or not isinstance(cap, list | tuple) or len(cap) != 2:
            raise ValueError(
                f"expected a dict of frequency -> (messages, days), got {frequency!r}: {cap!r}"
            )
        caps[frequency] = (positive(cap[0]), positive(cap[1]))
    return caps


def _currency(value: Any) -> str:
    """An ISO 4217 code: three ASCII letters, stored upper-case."""
    if not isinstance(value, str) or len(value) != 3 or not value.isascii() or not value.isalpha():
        raise ValueError(f"expected a three-letter currency code such as 'EUR', got {value!r}")
    return value.upper()


def _variant(value: Any) -> str:
    if value not in ("A", "B"):
        raise ValueError(f"expected 'A' or 'B', got {value!r}")
    return str(value)


#: How each setting is checked and converted, once per value, so call sites get the right
#: type. A validator raises ``ValueError`` saying what it expected.
#: Lists come back as a fresh ``list`` and dicts as a fresh ``dict`` on every read, so a
#: caller may keep or change what it got without touching the cached value.
VALIDATORS: dict[str, Callable[[Any], Any]] = {
    "SITE_URL": _site_url,
    "FROM_EMAIL": _optional_text,
    "REPLY_TO": _addresses,
    "POSTAL_ADDRESS": _text(),
    "TOPICS": _codes,
    "DEFAULT_TOPICS": _codes,
    "LANGUAGES": _codes,
    "DEFAULT_LANGUAGE": _text(empty=False),
    "CONFIRMATION_MAX_AGE": _integer(1, seconds=True),
    "PREFERENCES_MAX_AGE": _integer(1, seconds=True),
    "UNSUBSCRIBE_MAILTO": _optional_text,
    "SUBSCRIBE_RATE_LIMIT_PER_IP": _rate,
    "SUBSCRIBE_RATE_LIMIT_PER_ADDRESS": _rate,
    "CONSENT_FORM_VERSION": _text(empty=False),
    "FALLBACK_FIRST_NAME": _text(),
    "INLINE_CSS": _boolean,
    "SEGMENT_MAX_DEPTH": _integer(1),
    "SEGMENT_MAX_IN_VALUES": _integer(1),
    "BATCH_SIZE": _integer(1),
    "SEND_CONCURRENCY": _integer(1),
    "SEND_IN_PROCESS": _boolean,
    "SEND_TIME_BUDGET": _seconds,
    "RATE_LIMIT_PER_SECOND": _integer(0, none_is=0),
    "SEND_LEASE_SECONDS": _integer(1, seconds=True),
    "MAX_RETRIES": _integer(0),
    "FREQUENCY_CAPS": _frequency_caps,
    "AB_CONFIDENCE": _fraction,
    "AB_DEFAULT_WINNER": _variant,
    "TRACK_OPENS": _boolean,
    "TRACK_CLICKS": _boolean,
    "MACHINE_OPEN_SECONDS": _seconds_or_zero,
    "MACHINE_OPEN_NETWORKS": _networks,
    "REVENUE_ATTRIBUTION_DAYS": _integer(0),
    "REVENUE_ATTRIBUTE_OPENS": _boolean,
    "CURRENCY": _currency,
    "SNS_VERIFY_SIGNATURES": _boolean,
    "SNS_TOPIC_ARNS": _codes,
    "SNS_MAX_AGE": _integer(1, seconds=True),
    "WEBHOOK_MAX_BYTES": _integer(1024),
    "IMPORT_MAX_BYTES": _integer(1024),
    "SOFT_BOUNCE_LIMIT": _integer(1),
    "SOFT_BOUNCE_DAYS": _integer(1),
    "REPUTATION_BOUNCE_RATE": _percent,
    "REPUTATION_COMPLAINT_RATE": _percent,
    "REPUTATION_MIN_SENT": _integer(1),
}


class PetmailSettings:
    """Attribute access to ``settings.PETMAIL`` with defaults, lazy imports and checked types.

    Each value is validated and converted on first read (see :data:`VALIDATORS`); a bad value
    raises :class:`PetmailImproperlyConfigured` naming ``PETMAIL["KEY"]``, and
    ``manage.py check`` reports it as petmail.E006. An unknown attribute is an error (typos
    should not silently fall back to a default).
    """

    if TYPE_CHECKING:
        ADAPTER: type[Any]
        SITE_URL: str | None
        FROM_EMAIL: str | None
        REPLY_TO: list[str]
        POSTAL_ADDRESS: str
        TOPICS: list[str]
        DEFAULT_TOPICS: list[str]
        LANGUAGES: list[str]
        DEFAULT_LANGUAGE: str
        CONFIRMATION_MAX_AGE: int
        PREFERENCES_MAX_AGE: int
        UNSUBSCRIBE_MAILTO: str | None
        SUBSCRIBE_RATE_LIMIT_PER_IP: tuple[int, int] | None
        SUBSCRIBE_RATE_LIMIT_PER_ADDRESS: tuple[int, int] | None
        CONSENT_FORM_VERSION: str
        FALLBACK_FIRST_NAME: str
        INLINE_CSS: bool
        SEGMENT_MAX_DEPTH: int
        SEGMENT_MAX_IN_VALUES: int
        BATCH_SIZE: int
        SEND_CONCURRENCY: int
        SEND_IN_PROCESS: bool
        SEND_TIME_BUDGET: float
        RATE_LIMIT_PER_SECOND: int
        SEND_LEASE_SECONDS: int
        MAX_RETRIES: int
        FREQUENCY_CAPS: dict[str, tuple[int, int]]
        AB_CONFIDENCE: float
        AB_DEFAULT_WINNER: str
        TRACK_OPENS: bool
        TRACK_CLICKS: bool
        MACHINE_OPEN_SECONDS: float
        MACHINE_OPEN_NETWORKS: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]
        REVENUE_ATTRIBUTION_DAYS: int
        REVENUE_ATTRIBUTE_OPENS: bool
        CURRENCY: str
        SNS_VERIFY_SIGNATURES: bool
        SNS_TOPIC_ARNS: list[str]
        SNS_MAX_AGE: int
        WEBHOOK_MAX_BYTES: int
        IMPORT_MAX_BYTES: int
        SOFT_BOUNCE_LIMIT: int
        SOFT_BOUNCE_DAYS: int
        REPUTATION_BOUNCE_RATE: float
        REPUTATION_COMPLAINT_RATE: float
        REPUTATION_MIN_SENT: int

    def __init__(self, defaults: dict[str, Any] | None = None) -> None:
        self.defaults = defaults if defaults is not None else DEFAULTS
        self._cached: dict[str, Any] = {}

    @property
    def user_settings(self) -> dict[str, Any]:
        value = getattr(settings, "PETMAIL", {}) or {}
        if not isinstance(value, dict):
            raise PetmailImproperlyConfigured(
                "settings.PETMAIL must be a dict, got " + type(value).__name__ + "."
            )
        return value

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_") or name not in self.defaults:
            raise AttributeError(f"Invalid django-petmail setting: PETMAIL[{name!r}]")
        if name not in self._cached:
            self._cached[name] = self._load(name)
        value = self._cached[name]
        if isinstance(value, list | dict):
            return value.copy()
        return value

    def _load(self, name: str) -> Any:
        value = self.user_settings.get(name, self.defaults[name])
        if name in IMPORT_STRINGS and isinstance(value, str):
            return _import(value, name)
        validator = VALIDATORS.get(name)
        if validator is None:
            return value
        try:
            return validator(value)
        except ValueError as exc:
            reason = str(exc).rstrip(".")
            raise PetmailImproperlyConfigured(
                f"PETMAIL[{name!r}] = {value!r} is invalid: {reason}. "
                "See docs/configuration.md for the expected value."
            ) from None

    def invalid(self) -> dict[str, PetmailImproperlyConfigured]:
        """Every validated setting whose value is wrong, with its error (for system checks).

        Dotted-path settings are left out: importing them is checked with what they name.
        """
        errors = {}
        for name in self.defaults:
            if name in VALIDATORS:
                try:
                    getattr(self, name)
                except PetmailImproperlyConfigured as exc:
                    errors[name] = exc
        return errors

    def reload(self) -> None:
        self._cached.clear()


def _import(path: str, setting_name: str) -> Any:
    try:
        return import_string(path)
    except ImportError as exc:
        raise PetmailImproperlyConfigured(
            f"PETMAIL[{setting_name!r}] = {path!r} could not be imported: {exc}. "
            "Point it at an importable dotted path."
        ) from exc


petmail_settings = PetmailSettings()


def owner_model_label() -> str:
    """The owner model's ``app_label.ModelName``: ``PETMAIL_OWNER_MODEL``, else the user model."""
    return getattr(settings, "PETMAIL_OWNER_MODEL", None) or settings.AUTH_USER_MODEL


def get_owner_model() -> Any:
    """The owner model class; configuration errors become ``ImproperlyConfigured``."""
    from django.apps import apps

    label = owner_model_label()
    try:
        return apps.get_model(label, require_ready=False)
    except ValueError as exc:
        raise PetmailImproperlyConfigured(
            f"PETMAIL_OWNER_MODEL must be of the form 'app_label.ModelName', got {label!r}."
        ) from exc
    except LookupError as exc:
        raise PetmailImproperlyConfigured(
            f"PETMAIL_OWNER_MODEL refers to model {label!r}, which is not installed."
        ) from exc


def _reload(*, setting: str, **kwargs: Any) -> None:
    if setting == "PETMAIL":
        petmail_settings.reload()


setting_changed.connect(_reload, dispatch_uid="django_petmail.conf.reload")
