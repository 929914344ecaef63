"""Query parameters several endpoints share, each refused with a 400 that names it."""

from __future__ import annotations

from rest_framework import serializers
from rest_framework.request import Request

from ..models import NewsletterSubscription


def subscription_param(request: Request) -> NewsletterSubscription | None:
    """``?subscription=<id>`` for previews: the subscriber to render for, ``None`` when not
    given; an unknown or malformed id is a ``ValidationError`` naming ``subscription``."""
    raw = request.query_params.get("subscription")
    if raw is None:
        return None
    subscription = (
        NewsletterSubscription.objects.select_related("owner").filter(pk=raw).first()
        if raw.isdigit()
        else None
    )
    if subscription is None:
        raise serializers.ValidationError({"subscription": [f"No subscription with id {raw!r}."]})
    return subscription
