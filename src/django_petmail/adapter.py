"""The host project's hooks.

A host changes how django-petmail sees its owners, its site and its senders by subclassing
:class:`PetmailAdapter` and naming the subclass in ``PETMAIL["ADAPTER"]``. Each method is small
and documented so that overriding one never means copying another.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.signals import setting_changed
from django.http import HttpRequest

from .conf import get_owner_model, petmail_settings
from .exceptions import PetmailImproperlyConfigured

if TYPE_CHECKING:
    from .models import NewsletterSubscription


class PetmailAdapter:
    """Default behaviour: owners are looked up by an ``email`` field and named by
    ``first_name`` / ``last_name`` when the model has them."""

    #: Field of the owner model holding the address a subscription is matched against.
    owner_email_field: str = "email"

    # Owners -----------------------------------------------------------------------------

    def get_owner_for_email(self, email: str) -> Any | None:
        """The owner whose address is ``email`` (case-insensitive), or ``None``.

        Called when someone subscribes so the subscription can be linked to the customer
        record; returning ``None`` keeps the subscription anonymous.
        """
        model = get_owner_model()
        lookup = {f"{self.owner_email_field}__iexact": email}
        return model._default_manager.filter(**lookup).order_by("pk").first()

    def get_owner_email(self, owner: Any) -> str:
        return getattr(owner, self.owner_email_field, "") or ""

    def get_owner_first_name(self, owner: Any) -> str:
        return (getattr(owner, "first_name", "") or "").strip()

    def get_owner_full_name(self, owner: Any) -> str:
        get_full_name = getattr(owner, "get_full_name", None)
        if callable(get_full_name):
            return str(get_full_name()).strip()
        parts = [getattr(owner, "first_name", ""), getattr(owner, "last_name", "")]
        return " ".join(p for p in parts if p).strip()

    # Personalization --------------------------------------------------------------------

    def get_personalization_context(
        self, subscriptions: Sequence[NewsletterSubscription]
    ) -> dict[int, dict[str, Any]]:
        """Per-subscription template variables for a whole batch at once.

        Receives a batch (with ``owner`` already selected) so that an override can prefetch
        host data (pets, orders) in a constant number of queries instead of one per recipient.
        Returns ``{subscription.pk: {name: value}}``; missing keys fall back to defaults.
        """
        fallback = petmail_settings.FALLBACK_FIRST_NAME
        contexts: dict[int, dict[str, Any]] = {}
        for sub in subscriptions:
            owner = sub.owner if sub.owner_id else None
            owner_first = self.get_owner_first_name(owner) if owner else ""
            contexts[sub.pk] = {
                "email": sub.email,
                "first_name": sub.first_name or owner_first or fallback,
                "owner_name": owner_first or sub.first_name or fallback,
                "owner_full_name": (self.get_owner_full_name(owner) if owner else "")
                or sub.first_name
                or fallback,
            }
        return contexts

    # Site and sender --------------------------------------------------------------------

    def get_site_url(self, request: HttpRequest | None = None) -> str:
        """Absolute base URL for links in emails (no trailing slash).

        Emails are rendered outside any request, so ``PETMAIL["SITE_URL"]`` is required;
        a request is only used as a fallback for pages rendered in a request.
        """
        url = petmail_settings.SITE_URL
        if url:
            return url
        if request is not None:
            return request.build_absolute_uri("/").rstrip("/")
        raise PetmailImproperlyConfigured(
            "Set PETMAIL['SITE_URL'] (e.g. 'https://clinic.example') so emails carry "
            "absolute links."
        )

    def get_from_email(self) -> str:
        return petmail_settings.FROM_EMAIL or settings.DEFAULT_FROM_EMAIL

    def get_reply_to(self) -> list[str]:
        return petmail_settings.REPLY_TO

    def get_topics(self) -> list[str]:
        """Topics a subscriber may choose in the preference center."""
        return petmail_settings.TOPICS


@functools.lru_cache(maxsize=1)
def get_adapter() -> PetmailAdapter:
    """The configured adapter instance (cached; the cache drops when settings change)."""
    adapter_class = petmail_settings.ADAPTER
    if not (isinstance(adapter_class, type) and issubclass(adapter_class, PetmailAdapter)):
        raise PetmailImproperlyConfigured(
            "PETMAIL['ADAPTER'] must be a subclass of django_petmail.adapter.PetmailAdapter, "
            f"got {adapter_class!r}."
        )
    return adapter_class()


def _clear(*, setting: str, **kwargs: Any) -> None:
    if setting in {"PETMAIL", "PETMAIL_OWNER_MODEL", "AUTH_USER_MODEL"}:
        get_adapter.cache_clear()


setting_changed.connect(_clear, dispatch_uid="django_petmail.adapter.clear")
