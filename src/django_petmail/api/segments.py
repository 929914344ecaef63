"""Segment API: CRUD with validated rules, preview (count, sample, SQL), refresh, snapshot,
and the field catalogue rule editors are built from."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiExample
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ..exceptions import RuleValidationError
from ..models import CustomerSegment
from ..segments.fields import field_catalogue
from ..segments.service import Preview, preview, preview_segment, refresh_count, rules_q, snapshot
from .base import (
    FILTER_BACKENDS,
    ModelSerializer,
    PetmailPagination,
    StaffModelPermissions,
    StrictFieldsMixin,
)
from .schema import document, move


def _errors(exc: RuleValidationError) -> Response:
    return Response({"errors": exc.as_list()}, status=status.HTTP_400_BAD_REQUEST)


class SegmentSerializer(StrictFieldsMixin, ModelSerializer):
    class Meta:
        model = CustomerSegment
        fields = [
            "id",
            "name",
            "slug",
            "description",
            "rules",
            "is_dynamic",
            "is_active",
            "member_count",
            "last_calculated",
            "snapshot_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = [
            "member_count",
            "last_calculated",
            "snapshot_at",
            "created_at",
            "updated_at",
        ]

    def validate_rules(self, value: Any) -> Any:
        try:
            rules_q(value)
        except RuleValidationError as exc:
            raise serializers.ValidationError(
                [f"{path}: {message}" for path, message in exc.errors]
            ) from exc
        return value


class PreviewSerializer(StrictFieldsMixin, serializers.Serializer):
    rules = serializers.JSONField()
    sample_size = serializers.IntegerField(min_value=0, max_value=100, default=10)


def _preview_payload(result: Preview) -> dict[str, Any]:
    return {"count": result.count, "sample": result.sample, "sql": result.sql}


class SegmentPreviewView(APIView):
    """``POST {"rules": …}`` → count, a sample of members and the SQL (staff only)."""

    permission_classes = [StaffModelPermissions]
    permission_model = CustomerSegment
    permission_verb = "view"

    @document(
        "Count, sample and SQL of unsaved rules.",
        request=PreviewSerializer,
        examples=[
            OpenApiExample(
                "Dogs",
                value={
                    "rules": {"field": "pet_species", "op": "eq", "value": "dog"},
                    "sample_size": 5,
                },
                request_only=True,
            )
        ],
    )
    def post(self, request: Request) -> Response:
        serializer = PreviewSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            result = preview(
                serializer.validated_data["rules"], serializer.validated_data["sample_size"]
            )
        except RuleValidationError as exc:
            return _errors(exc)
        return Response(_preview_payload(result))


class SegmentFieldSerializer(serializers.Serializer):
    """One registered field, for the schema (the view builds the rows itself)."""

    name = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]  # a field named "label"
    type = serializers.CharField()
    ops = serializers.ListField(child=serializers.CharField())
    choices = serializers.ListField(child=serializers.ListField(child=serializers.JSONField()))


class SegmentFieldsView(APIView):
    """The registered fields: name, label, type, operators (with labels), choices, help."""

    permission_classes = [StaffModelPermissions]
    permission_model = CustomerSegment
    permission_verb = "view"

    @document(
        "The registered fields rule editors are built from.",
        responses={200: SegmentFieldSerializer(many=True)},
    )
    def get(self, request: Request) -> Response:
        return Response(field_catalogue())


class SegmentViewSet(viewsets.ModelViewSet):
    serializer_class = SegmentSerializer
    permission_classes = [StaffModelPermissions]
    pagination_class = PetmailPagination
    filter_backends = FILTER_BACKENDS
    filterset_fields = ["is_dynamic", "is_active"]
    ordering_fields = ["id", "name", "member_count", "created_at"]
    queryset = CustomerSegment.objects.order_by("name", "pk")

    @document("Count, sample and SQL of the saved segment.")
    @action(detail=True, methods=["get"])
    def preview(self, request: Request, pk: Any = None) -> Response:
        segment = self.get_object()
        try:
            result = preview_segment(segment)
        except RuleValidationError as exc:
            return _errors(exc)
        return Response(_preview_payload(result))

    @move(SegmentSerializer, description="Recount the members.")
    @action(detail=True, methods=["post"])
    def refresh(self, request: Request, pk: Any = None) -> Response:
        segment = self.get_object()
        try:
            refresh_count(segment)
        except RuleValidationError as exc:
            return _errors(exc)
        return Response(SegmentSerializer(segment).data)

    @move(SegmentSerializer, description="Freeze the current members.")
    @action(detail=True, methods=["post"])
    def snapshot(self, request: Request, pk: Any = None) -> Response:
        segment = self.get_object()
        try:
            snapshot(segment)
        except RuleValidationError as exc:
            return _errors(exc)
        return Response(SegmentSerializer(segment).data)
