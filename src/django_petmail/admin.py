"""Django admin for every model: list displays, filters and search that staff actually use."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from .admin_imports import SubscriberImportMixin
from .gdpr import erase_subscriber, export_subscriber
from .models import (
    ConsentEvent,
    EmailEvent,
    EmailSend,
    EmailTemplate,
    NewsletterSubscription,
    Suppression,
)
from .subscriptions import Consent, unsubscribe


class ReadOnlyAdmin(admin.ModelAdmin):
    """Ledgers (sends, events, consent history) are written by the state machines and the
    webhooks only: the admin lists and shows them, and adds, changes or deletes nothing."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReadOnlyInline(admin.TabularInline):
    """Ledger rows are shown, never edited, from their parent's page."""

    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ConsentEventInline(ReadOnlyInline):
    model = ConsentEvent
    fields = ("timestamp", "event", "source", "form", "ip_address", "user_agent")
    readonly_fields = fields


@admin.register(NewsletterSubscription)
class NewsletterSubscriptionAdmin(SubscriberImportMixin, admin.ModelAdmin):
    list_display = (
        "email",
        "first_name",
        "status",
        "frequency",
        "language",
        "source",
        "subscribed_at",
        "confirmed_at",
    )
    list_filter = ("status", "frequency", "language", "source", "is_paused")
    search_fields = ("email", "first_name")
    date_hierarchy = "subscribed_at"
    raw_id_fields = ("owner",)
    readonly_fields = (
        "subscribed_at",
        "updated_at",
        "confirmed_at",
        "unsubscribed_at",
        "ip_address",
        "user_agent",
        "consent_form",
    )
    inlines = [ConsentEventInline]
    list_select_related = ("owner",)
    actions = [
        "unsubscribe_selected",
        "export_selected",
        "export_csv_selected",
        "erase_selected",
    ]

    @admin.action(description=_("Unsubscribe selected subscriptions"))
    def unsubscribe_selected(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        consent = Consent.from_request(request, source="admin")
        count = sum(
            unsubscribe(sub, source="admin", reason="admin", consent=consent) for sub in queryset
        )
        self.message_user(
            request,
            ngettext(
                "%(count)d subscription unsubscribed.",
                "%(count)d subscriptions unsubscribed.",
                count,
            )
            % {"count": count},
            messages.SUCCESS,
        )

    @admin.action(description=_("Export data (GDPR, JSON)"))
    def export_selected(self, request: HttpRequest, queryset: QuerySet[Any]) -> HttpResponse:
        data = [export_subscriber(sub) for sub in queryset.order_by("pk")]
        response = HttpResponse(
            json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False, indent=2),
            content_type="application/json; charset=utf-8",
        )
        response["Content-Disposition"] = 'attachment; filename="petmail-export.json"'
        return response

    @admin.action(description=_("Erase personal data (GDPR)"), permissions=["delete"])
    def erase_selected(self, request: HttpRequest, queryset: QuerySet[Any]) -> Any:
        if request.POST.get("post") != "yes":
            return TemplateResponse(
                request,
                "admin/django_petmail/erase_confirmation.html",
                {
                    **self.admin_site.each_context(request),
                    "title": _("Erase personal data?"),
                    "queryset": queryset,
                    "opts": self.model._meta,
                    "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
                },
            )
        consent = Consent.from_request(request, source="admin")
        count = 0
        for sub in queryset:
            erase_subscriber(sub, consent)
            count += 1
        self.message_user(
            request,
            ngettext(
                "Data of %(count)d subscriber erased.",
                "Data of %(count)d subscribers erased.",
                count,
            )
            % {"count": count},
            messages.SUCCESS,
        )
        return None


@admin.register(ConsentEvent)
class ConsentEventAdmin(ReadOnlyAdmin):
    list_display = ("timestamp", "subscription", "event", "source", "form", "ip_address")
    list_filter = ("event", "source")
    search_fields = ("subscription__email",)
    date_hierarchy = "timestamp"
    list_select_related = ("subscription",)


@admin.register(Suppression)
class SuppressionAdmin(admin.ModelAdmin):
    list_display = ("email_hash", "reason", "created_at")
    list_filter = ("reason",)
    search_fields = ("email_hash",)
    readonly_fields = ("created_at",)


@admin.register(EmailTemplate)
class EmailTemplateAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "template_type", "is_active", "updated_at")
    list_filter = ("template_type", "is_active")
    search_fields = ("name", "slug", "subject")
    prepopulated_fields = {"slug": ("name",)}


class EmailEventInline(ReadOnlyInline):
    model = EmailEvent
    fields = ("timestamp", "event_type", "link_url", "bounce_type", "esp_event_id")
    readonly_fields = fields


@admin.register(EmailSend)
class EmailSendAdmin(ReadOnlyAdmin):
    list_display = (
        "email_address",
        "campaign",
        "sequence_step",
        "status",
        "ab_variant",
        "sent_at",
        "opened_at",
        "clicked_at",
    )
    list_filter = ("status", "ab_variant", "campaign")
    search_fields = ("email_address", "esp_message_id")
    raw_id_fields = ("campaign", "sequence_step", "enrollment", "subscription", "owner")
    list_select_related = ("campaign", "sequence_step__sequence")
    readonly_fields = (
        "claimed_at",
        "claimed_by",
        "attempts",
        "esp_message_id",
        "sent_at",
        "delivered_at",
        "opened_at",
        "clicked_at",
        "bounced_at",
        "created_at",
    )
    inlines = [EmailEventInline]


@admin.register(EmailEvent)
class EmailEventAdmin(ReadOnlyAdmin):
    list_display = ("timestamp", "event_type", "send", "link_url", "bounce_type")
    list_filter = ("event_type",)
    search_fields = ("send__email_address", "esp_event_id", "link_url")
    date_hierarchy = "timestamp"
    raw_id_fields = ("send",)
    list_select_related = ("send",)
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}


# the other admin modules register their models when this one is imported
from . import (  # noqa: E402
    admin_campaigns,  # noqa: F401  (campaigns: form, confirmation, test sends)
    admin_conversions,  # noqa: F401  (conversions, read-only)
    admin_segments,  # noqa: F401  (segments with the rule builder, memberships)
    admin_sequences,  # noqa: F401  (sequences, steps, enrollments)
)
