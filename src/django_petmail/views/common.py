"""Helpers shared by the public pages."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import translation

from ..conf import petmail_settings
from ..models import NewsletterSubscription
from ..ratelimit import hit


def client_ip(request: HttpRequest) -> str:
    return str(request.META.get("REMOTE_ADDR") or "unknown")


def ip_allowed(request: HttpRequest) -> bool:
    return hit("ip", client_ip(request), petmail_settings.SUBSCRIBE_RATE_LIMIT_PER_IP)


def page(
    request: HttpRequest,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    status: int = 200,
    subscription: NewsletterSubscription | None = None,
) -> HttpResponse:
    """Render a public page, in the subscriber's language when we know the subscriber.

    Pages reached through a signed link (those that know the subscriber) send no Referer, so
    the token in their URL never leaks to another site. The subscribe page keeps a same-origin
    referrer: with ``no-referrer`` browsers send ``Origin: null`` and CSRF rightly refuses.
    """
    language = subscription.language if subscription is not None else None
    with translation.override(language or translation.get_language()):
        response = render(request, f"django_petmail/{template}", context or {}, status=status)
        response["Content-Language"] = translation.get_language()
    response["Cache-Control"] = "no-store"
    match = request.resolver_match
    token_page = bool(match and "token" in match.kwargs)
    response["Referrer-Policy"] = "no-referrer" if token_page else "same-origin"
    return response


def invalid_link(request: HttpRequest, status: int = 400) -> HttpResponse:
    return page(request, "invalid_link.html", status=status)


def rate_limited(request: HttpRequest) -> HttpResponse:
    return page(request, "rate_limited.html", status=429)
