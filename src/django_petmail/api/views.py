from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter
from rest_framework import mixins, permissions, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from .. import analytics
from ..gdpr import erase_subscriber, export_subscriber
from ..models import (
    EmailCampaign,
    NewsletterSubscription,
    SubscriptionSource,
    SubscriptionStatus,
    UnsubscribeSource,
)
from ..subscriptions import Consent, subscribe, unsubscribe
from ..views.common import ip_allowed
from .base import FILTER_BACKENDS, PetmailPagination, PublicThrottle, StaffModelPermissions
from .delivery import EmailFilter
from .schema import BAD_REQUEST, document, move
from .serializers import SubscribeSerializer, SubscriptionSerializer, UnsubscribeSerializer

ACCEPTED = {
    "detail": "If this address can receive our newsletter, a confirmation link is on its way."
}


class SubscriptionFilter(filters.FilterSet):
    status = filters.ChoiceFilter(choices=SubscriptionStatus.choices)
    email = EmailFilter(max_length=254)
    source = filters.ChoiceFilter(choices=SubscriptionSource.choices)
    language = filters.CharFilter(max_length=8)
    since = filters.IsoDateTimeFilter(field_name="subscribed_at", lookup_expr="gte")
    until = filters.IsoDateTimeFilter(field_name="subscribed_at", lookup_expr="lt")

    class Meta:
        model = NewsletterSubscription
        fields: list[str] = []


class SubscribeView(APIView):
    """Public double opt-in sign-up: one answer (202) whatever the address's state."""

    permission_classes = [permissions.AllowAny]
    authentication_classes: list[Any] = []  # public endpoint: no session, so no CSRF
    throttle_classes = [PublicThrottle]
    throttle_scope = "petmail_subscribe"

    @document(
        "Double opt-in sign-up; 202 whatever the address's state.",
        request=SubscribeSerializer,
        responses={202: OpenApiTypes.OBJECT, 400: BAD_REQUEST, 429: OpenApiTypes.OBJECT},
        examples=[
            OpenApiExample(
                "Sign-up",
                value={"email": "ana@example.com", "first_name": "Ana"},
                request_only=True,
            ),
            OpenApiExample("Accepted", value=ACCEPTED, response_only=True, status_codes=["202"]),
        ],
    )
    def post(self, request: Request) -> Response:
        if not ip_allowed(request._request):
            return Response(
                {"detail": "Too many requests; try again later."},
                status=status.HTTP_429_TOO_MANY_REQUESTS,
            )
        serializer = SubscribeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        subscribe(
            data["email"],
            first_name=data["first_name"],
            topics=data["topics"],
            frequency=data.get("frequency"),
            language=data.get("language"),
            consent=Consent.from_request(request._request, source=data["source"], form="api"),
            request=request._request,
        )
        return Response(ACCEPTED, status=status.HTTP_202_ACCEPTED)


class SubscriptionViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Staff view of subscriptions, with unsubscribe and the GDPR export and erase."""

    serializer_class = SubscriptionSerializer
    permission_classes = [StaffModelPermissions]
    action_permissions = {"erase": "delete"}
    queryset = NewsletterSubscription.objects.all()
    pagination_class = PetmailPagination
    filter_backends = FILTER_BACKENDS
    filterset_class = SubscriptionFilter
    ordering_fields = ["id", "email", "subscribed_at", "confirmed_at"]
    ordering = ["-subscribed_at", "-pk"]

    @move(
        SubscriptionSerializer,
        UnsubscribeSerializer,
        "Unsubscribe; `changed` says whether it was subscribed.",
    )
    @action(detail=True, methods=["post"])
    def unsubscribe(self, request: Request, pk: Any = None) -> Response:
        subscription = self.get_object()
        serializer = UnsubscribeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        changed = unsubscribe(
            subscription,
            source=UnsubscribeSource.API,
            reason=serializer.validated_data["reason"],
            consent=Consent.from_request(request._request, source=UnsubscribeSource.API),
        )
        subscription.refresh_from_db()
        return Response({"changed": changed, **SubscriptionSerializer(subscription).data})

    @document("Everything stored about the subscriber (GDPR export).")
    @action(detail=True, methods=["get"])
    def export(self, request: Request, pk: Any = None) -> Response:
        return Response(export_subscriber(self.get_object()))

    @document("Latest sends with their events.", parameters=[OpenApiParameter("limit", int)])
    @action(detail=True, methods=["get"])
    def history(self, request: Request, pk: Any = None) -> Response:
        """The subscriber's latest sends with their events; ``?limit=`` 1…1000 (100)."""
        subscription = self.get_object()
        limit = _whole_number(request, "limit", 100, 1, analytics.reports.MAX_HISTORY)
        if isinstance(limit, Response):
            return limit
        return Response(analytics.subscriber_history(subscription, limit=limit).as_dict())

    @document("Erase the subscriber (GDPR), keeping a suppression hash.")
    @action(detail=True, methods=["post"])
    def erase(self, request: Request, pk: Any = None) -> Response:
        digest = erase_subscriber(
            self.get_object(), Consent.from_request(request._request, source="api")
        )
        return Response({"erased": True, "email_hash": digest})


class OverviewView(APIView):
    """The account over the last ``?days=`` days (1…365, default 30): sends, engagement,
    bounce and complaint rates against the reputation thresholds, a daily series and the
    period's top campaigns."""

    permission_classes = [StaffModelPermissions]
    permission_model = EmailCampaign
    permission_verb = "view"

    @document("The account over the last `days` days.", parameters=[OpenApiParameter("days", int)])
    def get(self, request: Request) -> Response:
        days = _whole_number(request, "days", 30, 1, analytics.reports.MAX_OVERVIEW_DAYS)
        if isinstance(days, Response):
            return days
        return Response(analytics.overview(days=days).as_dict())


def _whole_number(
    request: Request, name: str, default: int, minimum: int, maximum: int
) -> int | Response:
    """``?name=`` as a whole number within bounds, or a 400 answer naming it."""
    raw = request.query_params.get(name)
    if raw is None:
        return default
    if raw.isdigit() and len(raw) <= 6 and minimum <= int(raw) <= maximum:
        return int(raw)
    return Response(
        {
            name: [
                _("Give a whole number from %(minimum)s to %(maximum)s, not %(value)r.")
                % {"minimum": minimum, "maximum": maximum, "value": raw[:20]}
            ]
        },
        status=status.HTTP_400_BAD_REQUEST,
    )
