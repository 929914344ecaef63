"""Campaign API: CRUD with content validation, the lifecycle (409 on a wrong state),
progress, the report, preview, test sends and the A/B override."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import OpenApiExample, OpenApiParameter
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from .. import analytics, campaigns
from ..exceptions import InvalidTransition, TemplateError
from ..models import (
    AB_FIELDS,
    COUNTER_FIELDS,
    ABVariant,
    CampaignStatus,
    EmailCampaign,
)
from .base import (
    FILTER_BACKENDS,
    ModelSerializer,
    PetmailPagination,
    StaffModelPermissions,
    StrictFieldsMixin,
)
from .params import subscription_param
from .schema import SUBSCRIPTION_PARAMETER, document, move


class CampaignSerializer(StrictFieldsMixin, ModelSerializer):
    class Meta:
        model = EmailCampaign
        fields = [
            "id",
            "name",
            "status",
            "template",
            "subject",
            "preview_text",
            "html_content",
            "text_content",
            "from_email",
            "segment",
            "topic",
            "is_important",
            "recipient_count",
            "scheduled_at",
            "started_at",
            "completed_at",
            "paused_reason",
            *AB_FIELDS,
            *COUNTER_FIELDS,
            "open_rate",
            "click_rate",
            "created_at",
        ]
        read_only_fields = [
            "status",
            "recipient_count",
            "scheduled_at",
            "started_at",
            "completed_at",
            "paused_reason",
            "ab_winner",
            "ab_decided_at",
            "ab_result",
            *COUNTER_FIELDS,
            "open_rate",
            "click_rate",
            "created_at",
        ]

    open_rate = serializers.FloatField(read_only=True)
    click_rate = serializers.FloatField(read_only=True)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        instance = self.instance or EmailCampaign()
        if self.instance is not None and self.instance.status not in (
            CampaignStatus.DRAFT,
            CampaignStatus.SCHEDULED,
        ):
            raise serializers.ValidationError(
                {"status": [f"A {self.instance.status} campaign cannot be edited."]}
            )
        for name, value in attrs.items():
            setattr(instance, name, value)
        errors = campaigns.content_errors(instance)
        if errors:
            raise serializers.ValidationError(errors)
        return attrs

    def create(self, validated_data: dict[str, Any]) -> EmailCampaign:
        request = self.context.get("request")
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            validated_data["created_by"] = user
        return super().create(validated_data)


class ScheduleSerializer(StrictFieldsMixin, serializers.Serializer):
    scheduled_at = serializers.DateTimeField()


class TestSendSerializer(StrictFieldsMixin, serializers.Serializer):
    emails = serializers.ListField(child=serializers.EmailField(), min_length=1, max_length=20)
    variant = serializers.ChoiceField(choices=ABVariant.choices, default=ABVariant.A)


class WinnerSerializer(StrictFieldsMixin, serializers.Serializer):
    winner = serializers.ChoiceField(choices=ABVariant.choices)


def _conflict(exc: InvalidTransition) -> Response:
    return Response({"detail": str(exc), "status": exc.current}, status=status.HTTP_409_CONFLICT)


def _invalid(exc: DjangoValidationError) -> Response:
    detail = exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages}
    return Response(detail, status=status.HTTP_400_BAD_REQUEST)


class CampaignViewSet(viewsets.ModelViewSet):
    serializer_class = CampaignSerializer
    permission_classes = [StaffModelPermissions]
    pagination_class = PetmailPagination
    filter_backends = FILTER_BACKENDS
    filterset_fields = ["status", "segment", "template", "topic"]
    ordering_fields = ["id", "name", "created_at", "scheduled_at", "started_at"]
    queryset = EmailCampaign.objects.select_related("segment", "template").order_by("-pk")

    def perform_destroy(self, instance: EmailCampaign) -> None:
        if instance.status not in (CampaignStatus.DRAFT, CampaignStatus.CANCELLED):
            raise serializers.ValidationError(
                {"status": [f"A {instance.status} campaign cannot be deleted; cancel it."]}
            )
        instance.delete()

    def _lifecycle(self, move: Callable[..., Any], **kwargs: Any) -> Response:
        campaign = self.get_object()
        try:
            move(campaign, **kwargs)
        except InvalidTransition as exc:
            return _conflict(exc)
        except DjangoValidationError as exc:
            return _invalid(exc)
        campaign.refresh_from_db()
        return Response(CampaignSerializer(campaign).data)

    @move(CampaignSerializer, description="Start sending now: 409 unless draft or scheduled.")
    @action(detail=True, methods=["post"])
    def start(self, request: Request, pk: Any = None) -> Response:
        return self._lifecycle(campaigns.start)

    @move(CampaignSerializer, description="Pause a sending campaign.")
    @action(detail=True, methods=["post"])
    def pause(self, request: Request, pk: Any = None) -> Response:
        return self._lifecycle(campaigns.pause)

    @move(CampaignSerializer, description="Resume a paused campaign.")
    @action(detail=True, methods=["post"])
    def resume(self, request: Request, pk: Any = None) -> Response:
        return self._lifecycle(campaigns.resume)

    @move(CampaignSerializer, description="Cancel; sends already made stay.")
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: Any = None) -> Response:
        return self._lifecycle(campaigns.cancel)

    @move(CampaignSerializer, ScheduleSerializer, "Schedule a draft for a time.")
    @action(detail=True, methods=["post"])
    def schedule(self, request: Request, pk: Any = None) -> Response:
        serializer = ScheduleSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return self._lifecycle(campaigns.schedule, when=serializer.validated_data["scheduled_at"])

    @move(CampaignSerializer, WinnerSerializer, "Choose the A/B winner by hand.")
    @action(detail=True, methods=["post"])
    def winner(self, request: Request, pk: Any = None) -> Response:
        serializer = WinnerSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return self._lifecycle(campaigns.set_winner, winner=serializer.validated_data["winner"])

    @document("Sent, pending and failed so far, for a progress bar.")
    @action(detail=True, methods=["get"])
    def progress(self, request: Request, pk: Any = None) -> Response:
        return Response(campaigns.progress(self.get_object()))

    @document("The campaign report: deliveries, engagement, links, A/B.")
    @action(detail=True, methods=["get"])
    def report(self, request: Request, pk: Any = None) -> Response:
        """The campaign's report (``analytics.campaign_report``), as JSON."""
        return Response(analytics.campaign_report(self.get_object()).as_dict())

    @document(
        "Subject, HTML and text as a subscriber would get them.",
        parameters=[OpenApiParameter("variant", str, enum=["A", "B"]), SUBSCRIPTION_PARAMETER],
    )
    @action(detail=True, methods=["get"])
    def preview(self, request: Request, pk: Any = None) -> Response:
        """``?variant=A|B`` and ``?subscription=<id>`` (default: the first recipient)."""
        variant = request.query_params.get("variant", "A")
        if variant not in ("A", "B"):
            return Response({"variant": ["Use A or B."]}, status=status.HTTP_400_BAD_REQUEST)
        subscription = subscription_param(request)
        try:
            return Response(
                campaigns.preview(self.get_object(), subscription=subscription, variant=variant)
            )
        except TemplateError as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_400_BAD_REQUEST)

    @document(
        "Send the campaign to up to 20 addresses, with safe links.",
        request=TestSendSerializer,
        examples=[
            OpenApiExample(
                "Test send", value={"emails": ["me@example.com"], "variant": "A"}, request_only=True
            ),
            OpenApiExample("Sent", value={"sent": 1}, response_only=True),
        ],
    )
    @action(detail=True, methods=["post"], url_path="send-test")
    def send_test(self, request: Request, pk: Any = None) -> Response:
        serializer = TestSendSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            sent = campaigns.send_test(
                self.get_object(),
                serializer.validated_data["emails"],
                serializer.validated_data["variant"],
            )
        except DjangoValidationError as exc:
            return _invalid(exc)
        return Response({"sent": sent})
