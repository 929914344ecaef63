"""Sends and events, read-only: filtered with django-filter (campaign, step, status or
type, email, a date range), ordered, and cursor-paginated (the tables only grow)."""

from __future__ import annotations

from django import forms
from django.db.models import QuerySet
from django_filters import rest_framework as filters
from rest_framework import mixins, serializers, viewsets

from ..models import EmailEvent, EmailSend, EventType, SendStatus, normalize_email
from .base import (
    FILTER_BACKENDS,
    ModelSerializer,
    RecentFirstCursorPagination,
    StaffModelPermissions,
)

MAX_ID = 2**63 - 1


class IdFilter(filters.NumberFilter):
    """A primary key: a whole number within a database integer's range, else a 400."""

    field_class = forms.IntegerField

    def __init__(self, *args: object, **kwargs: object) -> None:
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(*args, **kwargs)


class EmailFilter(filters.CharFilter):
    """An address, matched as stored (normalized)."""

    def filter(self, qs: QuerySet, value: str) -> QuerySet:
        return super().filter(qs, normalize_email(value) if value else value)


# --- sends ------------------------------------------------------------------------------------


class SendSerializer(ModelSerializer):
    step = serializers.IntegerField(source="sequence_step_id", read_only=True, allow_null=True)

    class Meta:
        model = EmailSend
        fields = [
            "id",
            "campaign",
            "step",
            "enrollment",
            "subscription",
            "email_address",
            "status",
            "ab_variant",
            "attempts",
            "esp_message_id",
            "sent_at",
            "delivered_at",
            "opened_at",
            "clicked_at",
            "bounced_at",
            "bounce_type",
            "error_message",
            "created_at",
        ]
        read_only_fields = fields


class SendFilter(filters.FilterSet):
    campaign = IdFilter(field_name="campaign_id")
    step = IdFilter(field_name="sequence_step_id")
    subscription = IdFilter(field_name="subscription_id")
    status = filters.ChoiceFilter(choices=SendStatus.choices)
    email = EmailFilter(field_name="email_address", max_length=254)
    since = filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    until = filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = EmailSend
        fields: list[str] = []


class SendViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Sends, newest first. ``?campaign=``, ``?step=``, ``?subscription=``, ``?status=``,
    ``?email=``, ``?since=`` / ``?until=`` (ISO 8601, created at), ``?ordering=``."""

    serializer_class = SendSerializer
    permission_classes = [StaffModelPermissions]
    queryset = EmailSend.objects.all()
    pagination_class = RecentFirstCursorPagination
    filter_backends = FILTER_BACKENDS
    filterset_class = SendFilter
    ordering_fields = ["id", "created_at"]
    ordering = ["-id"]


# --- events -----------------------------------------------------------------------------------


class EventSerializer(ModelSerializer):
    campaign = serializers.IntegerField(source="send.campaign_id", read_only=True, allow_null=True)
    step = serializers.IntegerField(source="send.sequence_step_id", read_only=True, allow_null=True)
    email_address = serializers.EmailField(source="send.email_address", read_only=True)
    link_url = serializers.CharField(read_only=True)  # blank when not a click: not a "uri"

    class Meta:
        model = EmailEvent
        fields = [
            "id",
            "send",
            "campaign",
            "step",
            "email_address",
            "event_type",
            "link_url",
            "link_tag",
            "is_machine",
            "bounce_type",
            "description",
            "user_agent",
            "ip_address",
            "occurred_at",
            "timestamp",
        ]
        read_only_fields = fields


class EventFilter(filters.FilterSet):
    send = IdFilter(field_name="send_id")
    campaign = IdFilter(field_name="send__campaign_id")
    step = IdFilter(field_name="send__sequence_step_id")
    type = filters.ChoiceFilter(field_name="event_type", choices=EventType.choices)
    email = EmailFilter(field_name="send__email_address", max_length=254)
    is_machine = filters.BooleanFilter()
    since = filters.IsoDateTimeFilter(field_name="timestamp", lookup_expr="gte")
    until = filters.IsoDateTimeFilter(field_name="timestamp", lookup_expr="lt")

    class Meta:
        model = EmailEvent
        fields: list[str] = []


class EventViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Events, newest first. ``?send=``, ``?campaign=``, ``?step=``, ``?type=``, ``?email=``,
    ``?is_machine=``, ``?since=`` / ``?until=`` (ISO 8601, recorded at), ``?ordering=``."""

    serializer_class = EventSerializer
    permission_classes = [StaffModelPermissions]
    queryset = EmailEvent.objects.select_related("send")
    pagination_class = RecentFirstCursorPagination
    filter_backends = FILTER_BACKENDS
    filterset_class = EventFilter
    ordering_fields = ["id", "timestamp"]
    ordering = ["-id"]
