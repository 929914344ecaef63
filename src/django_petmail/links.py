"""Absolute URLs of the public pages, for emails (rendered outside any request).

Built once per recipient and message, so the URL pattern is reversed once per page name and
the token is spliced in: ``reverse()`` per link per recipient costs more than the signing.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from django.core.signals import setting_changed
from django.urls import reverse

from .adapter import get_adapter
from .tokens import Purpose, make_click_tokens, make_open_token, make_token, make_tokens

if TYPE_CHECKING:
    from django.http import HttpRequest

    from .models import NewsletterSubscription

_PLACEHOLDER = "PETMAILTOKEN"


@functools.lru_cache(maxsize=16)
def _pattern(name: str) -> tuple[str, str]:
    path = reverse(f"petmail:{name}", args=[_PLACEHOLDER])
    before, _, after = path.partition(_PLACEHOLDER)
    return before, after


def _clear(*, setting: str, **kwargs: Any) -> None:
    if setting == "ROOT_URLCONF":
        _pattern.cache_clear()


setting_changed.connect(_clear, dispatch_uid="django_petmail.links.clear")


def _absolute(name: str, token: str, request: HttpRequest | None = None) -> str:
    before, after = _pattern(name)
    return f"{get_adapter().get_site_url(request)}{before}{token}{after}"


def message_links(
    subscription: NewsletterSubscription, send_id: int | None = None, *, site_url: str | None = None
) -> dict[str, str]:
    """The three links every marketing message carries, signing the address digest once."""
    site = site_url or get_adapter().get_site_url()
    purposes = _MESSAGE_PURPOSES if send_id else _MESSAGE_PURPOSES[:2]
    tokens = make_tokens(purposes, subscription, send_id)
    links = {"view_online_url": ""}
    for purpose in purposes:
        key, name = _MESSAGE_LINKS[purpose]
        before, after = _pattern(name)
        links[key] = f"{site}{before}{tokens[purpose]}{after}"
    return links


def tracking_links(
    send_id: int, urls: list[str], *, opens: bool, site_url: str | None = None
) -> dict[str, Any]:
    """One message's first-party tracking URLs, for a compiled content that tracks them:
    ``open_pixel_url`` (empty without ``opens``) and ``click_urls``, one per link of
    ``urls`` (the content's tracked links, in order)."""
    site = site_url or get_adapter().get_site_url()
    links: dict[str, Any] = {"open_pixel_url": ""}
    if opens:
        before, after = _pattern("open")
        links["open_pixel_url"] = f"{site}{before}{make_open_token(send_id)}{after}"
    if urls:
        before, after = _pattern("click")
        links["click_urls"] = [
            f"{site}{before}{token}{after}" for token in make_click_tokens(send_id, urls)
        ]
    return links


_MESSAGE_PURPOSES = (Purpose.UNSUBSCRIBE, Purpose.PREFERENCES, Purpose.VIEW)
_MESSAGE_LINKS = {  # purpose → (template variable, URL name)
    Purpose.UNSUBSCRIBE: ("unsubscribe_url", "unsubscribe"),
    Purpose.PREFERENCES: ("preferences_url", "preferences"),
    Purpose.VIEW: ("view_online_url", "view_online"),
}


def confirm_url(subscription: NewsletterSubscription, request: HttpRequest | None = None) -> str:
    return _absolute("confirm", make_token(Purpose.CONFIRM, subscription), request)


def unsubscribe_url(
    subscription: NewsletterSubscription,
    send_id: int | None = None,
    request: HttpRequest | None = None,
) -> str:
    return _absolute("unsubscribe", make_token(Purpose.UNSUBSCRIBE, subscription, send_id), request)


def view_online_url(
    subscription: NewsletterSubscription,
    send_id: int | None,
    request: HttpRequest | None = None,
) -> str:
    """The message as a web page ("view in browser"), for one send."""
    return _absolute("view_online", make_token(Purpose.VIEW, subscription, send_id), request)


def preferences_url(
    subscription: NewsletterSubscription,
    send_id: int | None = None,
    request: HttpRequest | None = None,
) -> str:
    return _absolute("preferences", make_token(Purpose.PREFERENCES, subscription, send_id), request)
