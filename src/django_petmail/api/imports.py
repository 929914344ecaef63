"""Subscriber CSV import (upload, then poll its progress and error report) and CSV export."""

from __future__ import annotations

from typing import Any

from django.http import StreamingHttpResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from .. import subscribers_csv
from ..exceptions import ImportTooLarge
from ..models import NewsletterSubscription, SubscriptionStatus
from ..receivers import queue_import
from .base import StaffModelPermissions
from .schema import document

#: Room for the multipart envelope around the file when the body's length is checked first.
_ENVELOPE = 64 * 1024
_PUBLIC_STATE = (
    "id",
    "status",
    "bytes_total",
    "bytes_read",
    "rows",
    "created",
    "updated",
    "confirmation_emails",
    "error_count",
    "errors",
    "message",
)


class ImportSerializer(serializers.Serializer):
    file = serializers.FileField()
    consent_basis = serializers.CharField(required=False, allow_blank=True, max_length=255)


def _public(state: dict[str, Any], request: Request) -> dict[str, Any]:
    data = {key: state[key] for key in _PUBLIC_STATE}
    data["url"] = request.build_absolute_uri(
        reverse("petmail-api:subscriber-import-detail", args=[state["id"]])
    )
    return data


def _too_large(exc: Exception) -> Response:
    return Response({"file": [str(exc)]}, status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)


class SubscriberImportView(APIView):
    """``POST`` a CSV (multipart ``file``, optional ``consent_basis``): 202 with the import's
    id and the URL to poll. Larger than ``IMPORT_MAX_BYTES``: 413."""

    permission_classes = [StaffModelPermissions]
    permission_model = NewsletterSubscription
    permission_verb = "add"
    parser_classes = [MultiPartParser]

    @document(
        "Import subscribers from a CSV file; answers 202 with the import to poll.",
        request=ImportSerializer,
        responses={202: OpenApiTypes.OBJECT, 400: OpenApiTypes.OBJECT, 413: OpenApiTypes.OBJECT},
    )
    def post(self, request: Request) -> Response:
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        try:
            subscribers_csv.check_size(length - _ENVELOPE)
        except ImportTooLarge as exc:
            return _too_large(exc)
        serializer = ImportSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        upload = serializer.validated_data["file"]
        try:
            import_id = subscribers_csv.start_import(
                upload,
                size=upload.size,
                consent_basis=serializer.validated_data.get("consent_basis", ""),
                user=request.user,
            )
        except ImportTooLarge as exc:
            return _too_large(exc)
        queue_import(import_id)
        state = subscribers_csv.get_state(import_id)
        assert state is not None
        return Response(_public(state, request), status=status.HTTP_202_ACCEPTED)


class SubscriberImportDetailView(APIView):
    """An import's progress, counts and per-row error report (row, column, message)."""

    permission_classes = [StaffModelPermissions]
    permission_model = NewsletterSubscription
    permission_verb = "view"

    @document(
        "An import's progress and error report.",
        responses={200: OpenApiTypes.OBJECT, 404: OpenApiTypes.OBJECT},
    )
    def get(self, request: Request, import_id: str) -> Response:
        state = subscribers_csv.get_state(import_id)
        if state is None:
            return Response({"detail": _("No such import.")}, status=status.HTTP_404_NOT_FOUND)
        return Response(_public(state, request))


class SubscriberExportView(APIView):
    """The subscriptions as a streamed CSV (``?status=`` to filter); cells a spreadsheet
    would run as a formula are prefixed with ``'``."""

    permission_classes = [StaffModelPermissions]
    permission_model = NewsletterSubscription
    permission_verb = "view"

    @document(
        "The subscriptions as CSV (streamed).",
        parameters=[OpenApiParameter("status", str)],
        responses={(200, "text/csv"): OpenApiTypes.STR, 400: OpenApiTypes.OBJECT},
    )
    def get(self, request: Request) -> Any:
        queryset = NewsletterSubscription.objects.all()
        wanted = request.query_params.get("status")
        if wanted is not None:
            if wanted not in SubscriptionStatus.values:
                raise serializers.ValidationError(
                    {
                        "status": [
                            _("Unknown status; use one of: %s.")
                            % ", ".join(SubscriptionStatus.values)
                        ]
                    }
                )
            queryset = queryset.filter(status=wanted)
        response = StreamingHttpResponse(
            subscribers_csv.export_rows(queryset), content_type="text/csv; charset=utf-8"
        )
        response["Content-Disposition"] = 'attachment; filename="petmail-subscribers.csv"'
        return response
