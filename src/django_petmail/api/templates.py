"""Email templates: CRUD (every part must compile in the sandboxed engine, as the model's
``clean()`` says) and a preview rendered with a sample subscriber's context."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django_filters import rest_framework as filters
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from .. import campaigns
from ..exceptions import TemplateError
from ..models import (
    EmailCampaign,
    EmailTemplate,
    NewsletterSubscription,
    SubscriptionStatus,
    TemplateType,
)
from .base import (
    FILTER_BACKENDS,
    ModelSerializer,
    PetmailPagination,
    StaffModelPermissions,
    StrictFieldsMixin,
)
from .params import subscription_param
from .schema import SUBSCRIPTION_PARAMETER, document


class TemplateSerializer(StrictFieldsMixin, ModelSerializer):
    available_tokens = serializers.ListField(
        child=serializers.CharField(max_length=100), max_length=200, required=False
    )

    class Meta:
        model = EmailTemplate
        fields = [
            "id",
            "name",
            "slug",
            "description",
            "template_type",
            "subject",
            "preview_text",
            "html_content",
            "text_content",
            "footer_html",
            "available_tokens",
            "is_active",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["created_at", "updated_at"]

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        instance = EmailTemplate()
        if self.instance is not None:
            for field in EmailTemplate._meta.concrete_fields:
                setattr(instance, field.attname, getattr(self.instance, field.attname))
        for name, value in attrs.items():
            setattr(instance, name, value)
        try:
            instance.clean()
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.message_dict) from None
        return attrs


def sample_subscriber() -> NewsletterSubscription:
    """The first active subscriber, else a fictional one the adapter's fallbacks fill (a
    template has no audience to choose from)."""
    first = (
        NewsletterSubscription.objects.filter(status=SubscriptionStatus.ACTIVE)
        .select_related("owner")
        .order_by("pk")
        .first()
    )
    return first or NewsletterSubscription(pk=0, email="preview@example.com")


class TemplateFilter(filters.FilterSet):
    template_type = filters.ChoiceFilter(choices=TemplateType.choices)
    is_active = filters.BooleanFilter()

    class Meta:
        model = EmailTemplate
        fields: list[str] = []


class TemplateViewSet(viewsets.ModelViewSet):
    """Templates; ``?template_type=``, ``?is_active=``, ``?ordering=``."""

    serializer_class = TemplateSerializer
    permission_classes = [StaffModelPermissions]
    queryset = EmailTemplate.objects.all()
    pagination_class = PetmailPagination
    filter_backends = FILTER_BACKENDS
    filterset_class = TemplateFilter
    ordering_fields = ["name", "created_at", "updated_at"]
    ordering = ["name", "pk"]
    action_permissions = {"preview": "view"}

    @document(
        "The template rendered with a sample subscriber's context (or `?subscription=`).",
        parameters=[SUBSCRIPTION_PARAMETER],
    )
    @action(detail=True, methods=["get"])
    def preview(self, request: Request, pk: Any = None) -> Response:
        template = self.get_object()
        subscription = subscription_param(request) or sample_subscriber()
        draft = EmailCampaign(
            name=template.name,
            template=template,
            subject=template.subject,
            preview_text=template.preview_text,
            html_content=template.html_content,
            text_content=template.text_content,
        )
        try:
            return Response(campaigns.preview(draft, subscription=subscription))
        except TemplateError as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_400_BAD_REQUEST)
