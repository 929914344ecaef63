"""Suppressions (list, retrieve, add by address, delete) and the consent history
(read-only). Suppressions are stored as hashes: an address given in the URL or in
``?email=`` is hashed before it is looked up."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django_filters import rest_framework as filters
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from ..models import (
    ConsentEvent,
    ConsentEventType,
    Suppression,
    SuppressionReason,
    UnsubscribeSource,
    email_hash,
)
from ..subscriptions import Consent, suppress
from .base import (
    FILTER_BACKENDS,
    ModelSerializer,
    PetmailPagination,
    StaffModelPermissions,
    StrictFieldsMixin,
)
from .delivery import EmailFilter, IdFilter
from .schema import document

# --- suppressions -----------------------------------------------------------------------------


class SuppressionSerializer(ModelSerializer):
    class Meta:
        model = Suppression
        fields = ["email_hash", "reason", "created_at"]
        read_only_fields = fields


class SuppressRequestSerializer(StrictFieldsMixin, serializers.Serializer):
    email = serializers.EmailField(max_length=254)


class HashedEmailFilter(filters.CharFilter):
    def filter(self, qs: QuerySet, value: str) -> QuerySet:
        return qs.filter(email_hash=email_hash(value)) if value else qs


class SuppressionFilter(filters.FilterSet):
    email = HashedEmailFilter(max_length=254)
    reason = filters.ChoiceFilter(choices=SuppressionReason.choices)

    class Meta:
        model = Suppression
        fields: list[str] = []


class SuppressionViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Addresses never to be mailed. The URL takes the hash or the address itself."""

    serializer_class = SuppressionSerializer
    permission_classes = [StaffModelPermissions]
    queryset = Suppression.objects.all()
    lookup_field = "email_hash"
    lookup_value_regex = "[^/]+"
    pagination_class = PetmailPagination
    filter_backends = FILTER_BACKENDS
    filterset_class = SuppressionFilter
    ordering_fields = ["created_at", "reason"]
    ordering = ["-created_at", "-pk"]

    def get_object(self) -> Suppression:
        value = self.kwargs[self.lookup_field]
        if "@" in value:
            self.kwargs[self.lookup_field] = email_hash(value)
        return super().get_object()

    @document(
        "Suppress an address by hand: its subscription leaves, its enrollments end and its "
        "hash is kept. 201 when new, 200 when it was suppressed already.",
        request=SuppressRequestSerializer,
        responses={200: SuppressionSerializer, 201: SuppressionSerializer},
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = SuppressRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        email = serializer.validated_data["email"]
        created = suppress(
            email,
            source=UnsubscribeSource.API,
            consent=Consent.from_request(request._request, source=UnsubscribeSource.API),
        )
        suppression = Suppression.objects.get(email_hash=email_hash(email))
        return Response(
            SuppressionSerializer(suppression).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


# --- consent history --------------------------------------------------------------------------


class ConsentEventSerializer(ModelSerializer):
    class Meta:
        model = ConsentEvent
        fields = [
            "id",
            "subscription",
            "event",
            "timestamp",
            "ip_address",
            "user_agent",
            "source",
            "form",
            "details",
        ]
        read_only_fields = fields


class ConsentFilter(filters.FilterSet):
    subscription = IdFilter(field_name="subscription_id")
    email = EmailFilter(field_name="subscription__email", max_length=254)
    event = filters.ChoiceFilter(choices=ConsentEventType.choices)
    since = filters.IsoDateTimeFilter(field_name="timestamp", lookup_expr="gte")
    until = filters.IsoDateTimeFilter(field_name="timestamp", lookup_expr="lt")

    class Meta:
        model = ConsentEvent
        fields: list[str] = []


class ConsentEventViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """The consent ledger, read-only (it is append-only): ``?subscription=``, ``?email=``,
    ``?event=``, ``?since=`` / ``?until=`` (ISO 8601)."""

    serializer_class = ConsentEventSerializer
    permission_classes = [StaffModelPermissions]
    queryset = ConsentEvent.objects.all()
    pagination_class = PetmailPagination
    filter_backends = FILTER_BACKENDS
    filterset_class = ConsentFilter
    ordering_fields = ["timestamp", "id"]
    ordering = ["-timestamp", "-id"]
