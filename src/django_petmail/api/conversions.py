"""Conversion API: read-only, for staff. The list is paginated and filtered by
``?campaign=<id>``, ``?step=<id>`` (the mailing it is attributed to) and ``?since=`` /
``?until=`` (days, ``YYYY-MM-DD``, both inclusive, in the site's time zone); a bad filter value
is a 400 naming the parameter. Conversions are written only by ``record_conversion`` and
``refund_conversion``."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone
from rest_framework import mixins, serializers, viewsets
from rest_framework.pagination import PageNumberPagination

from ..models import Conversion
from .base import ModelSerializer, StaffModelPermissions


class ConversionSerializer(ModelSerializer):
    email = serializers.CharField(source="subscription.email", read_only=True, default="")
    campaign = serializers.IntegerField(source="send.campaign_id", read_only=True, default=None)
    step = serializers.IntegerField(source="send.sequence_step_id", read_only=True, default=None)

    class Meta:
        model = Conversion
        fields = [
            "id",
            "reference",
            "amount",
            "currency",
            "occurred_at",
            "refunded_at",
            "subscription",
            "email",
            "send",
            "campaign",
            "step",
            "created_at",
        ]
        read_only_fields = fields


class ConversionFilters(serializers.Serializer):
    """The list's query parameters; errors are keyed by the parameter's name."""

    campaign = serializers.IntegerField(min_value=1, max_value=2**63 - 1, required=False)
    step = serializers.IntegerField(min_value=1, max_value=2**63 - 1, required=False)
    since = serializers.DateField(required=False)
    until = serializers.DateField(required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        since, until = attrs.get("since"), attrs.get("until")
        if since and until and since > until:
            raise serializers.ValidationError({"until": ["Must not be before since."]})
        return attrs


def _start_of(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


class ConversionPagination(PageNumberPagination):
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 500


class ConversionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = ConversionSerializer
    permission_classes = [StaffModelPermissions]
    permission_model = Conversion
    pagination_class = ConversionPagination

    def get_queryset(self) -> QuerySet[Conversion]:
        conversions = Conversion.objects.select_related("subscription", "send").order_by(
            "-occurred_at", "-pk"
        )
        if self.action != "list":
            return conversions
        filters = ConversionFilters(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        wanted = filters.validated_data
        if "campaign" in wanted:
            conversions = conversions.filter(send__campaign_id=wanted["campaign"])
        if "step" in wanted:
            conversions = conversions.filter(send__sequence_step_id=wanted["step"])
        if "since" in wanted:
            conversions = conversions.filter(occurred_at__gte=_start_of(wanted["since"]))
        if "until" in wanted and wanted["until"] < date.max:
            after = _start_of(wanted["until"] + timedelta(days=1))
            conversions = conversions.filter(occurred_at__lt=after)
        return conversions
