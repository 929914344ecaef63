"""Transactional emails of the subscription lifecycle (the double opt-in confirmation)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils import translation

from .adapter import get_adapter
from .links import confirm_url

if TYPE_CHECKING:
    from django.http import HttpRequest

    from .models import NewsletterSubscription


def send_confirmation_email(
    subscription: NewsletterSubscription, request: HttpRequest | None = None
) -> None:
    """Send the double opt-in link, in the subscriber's language.

    Templates (override by name): ``django_petmail/email/confirmation_subject.txt``,
    ``confirmation_body.txt`` and ``confirmation_body.html``.
    """
    adapter = get_adapter()
    context = {
        "subscription": subscription,
        "first_name": subscription.first_name,
        "confirm_url": confirm_url(subscription, request),
        "site_url": adapter.get_site_url(request),
    }
    with translation.override(subscription.language or None):
        subject = render_to_string("django_petmail/email/confirmation_subject.txt", context)
        text = render_to_string("django_petmail/email/confirmation_body.txt", context)
        html = render_to_string("django_petmail/email/confirmation_body.html", context)
    message = EmailMultiAlternatives(
        subject=" ".join(subject.split()),
        body=text,
        from_email=adapter.get_from_email(),
        to=[subscription.email],
        reply_to=adapter.get_reply_to(),
    )
    message.attach_alternative(html, "text/html")
    message.send()
