"""The ``PETMAIL`` settings object.

Host projects configure the package through one dict, ``settings.PETMAIL``, plus the top-level
``PETMAIL_OWNER_MODEL`` (a top-level setting because migrations need it, like
``AUTH_USER_MODEL``). Values are read when used, never copied at import time, and the cache is
dropped on Django's ``setting_changed`` signal so ``override_settings`` works in tests.
"""

from __future__ import annotations

from typing import Any

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
    "REVENUE_ATTRIBUTION_DAYS": 7,
}

# Settings holding a dotted path that is imported on first use.
IMPORT_STRINGS: frozenset[str] = frozenset({"ADAPTER"})


class PetmailSettings:
    """Attribute access to ``settings.PETMAIL`` with defaults and lazy imports.

    An unknown attribute is an error (typos should not silently fall back to a default).
    """

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
        if name in self._cached:
            return self._cached[name]
        value = self.user_settings.get(name, self.defaults[name])
        if name in IMPORT_STRINGS and isinstance(value, str):
            value = _import(value, name)
        self._cached[name] = value
        return value

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
