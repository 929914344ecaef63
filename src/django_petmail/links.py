"""Absolute URLs of the public pages, for emails (rendered outside any request)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.urls import reverse

from .adapter import get_adapter
from .tokens import Purpose, make_token

if TYPE_CHECKING:
    from django.http import HttpRequest

    from .models import NewsletterSubscription


def _absolute(path: str, request: HttpRequest | None = None) -> str:
    return get_adapter().get_site_url(request) + path


def confirm_url(subscription: NewsletterSubscription, request: HttpRequest | None = None) -> str:
    token = make_token(Purpose.CONFIRM, subscription)
    return _absolute(reverse("petmail:confirm", args=[token]), request)


def unsubscribe_url(
    subscription: NewsletterSubscription,
    send_id: int | None = None,
    request: HttpRequest | None = None,
) -> str:
    token = make_token(Purpose.UNSUBSCRIBE, subscription, send_id)
    return _absolute(reverse("petmail:unsubscribe", args=[token]), request)


def view_online_url(
    subscription: NewsletterSubscription,
    send_id: int | None,
    request: HttpRequest | None = None,
) -> str:
    """The message as a web page ("view in browser"), for one send."""
    token = make_token(Purpose.VIEW, subscription, send_id)
    return _absolute(reverse("petmail:view_online", args=[token]), request)


def preferences_url(
    subscription: NewsletterSubscription,
    send_id: int | None = None,
    request: HttpRequest | None = None,
) -> str:
    token = make_token(Purpose.PREFERENCES, subscription, send_id)
    return _absolute(reverse("petmail:preferences", args=[token]), request)
