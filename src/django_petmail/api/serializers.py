from __future__ import annotations

from typing import Any

from rest_framework import serializers

from ..conf import petmail_settings
from ..forms import language_choices, topic_choices, validate_single_line
from ..models import (
    SUBSCRIPTION_FIELDS,
    Frequency,
    NewsletterSubscription,
    SubscriptionSource,
    normalize_email,
)
from .base import ModelSerializer, StrictFieldsMixin


def _single_line(value: str) -> str:
    from django import forms

    try:
        validate_single_line(value)
    except forms.ValidationError as exc:
        raise serializers.ValidationError(exc.messages) from None
    return value


class SubscribeSerializer(StrictFieldsMixin, serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    first_name = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    topics = serializers.ListField(
        child=serializers.CharField(max_length=50), required=False, max_length=50
    )
    frequency = serializers.ChoiceField(choices=Frequency.choices, required=False)
    language = serializers.CharField(max_length=8, required=False)
    source = serializers.ChoiceField(
        choices=SubscriptionSource.choices, required=False, default=SubscriptionSource.API
    )  # type: ignore[assignment]

    def validate_email(self, value: str) -> str:
        return normalize_email(value)

    def validate_first_name(self, value: str) -> str:
        return _single_line(value)

    def validate_topics(self, value: list[str]) -> list[str]:
        allowed = {code for code, _label in topic_choices()}
        unknown = sorted(set(value) - allowed)
        if unknown:
            raise serializers.ValidationError(
                f"Unknown topics {unknown}; choose from {sorted(allowed)}."
            )
        return value

    def validate_language(self, value: str) -> str:
        allowed = [code for code, _label in language_choices()]
        if value not in allowed:
            raise serializers.ValidationError(f"Unknown language {value!r}; use one of {allowed}.")
        return value

    def to_internal_value(self, data: Any) -> Any:
        values = super().to_internal_value(data)
        values.setdefault("topics", petmail_settings.DEFAULT_TOPICS)
        return values


class SubscriptionSerializer(StrictFieldsMixin, ModelSerializer):
    class Meta:
        model = NewsletterSubscription
        fields = ("id", *SUBSCRIPTION_FIELDS)
        read_only_fields = fields


class UnsubscribeSerializer(StrictFieldsMixin, serializers.Serializer):
    reason = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")
