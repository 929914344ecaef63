"""Django admin for every model: list displays, filters and search that staff actually use."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from . import campaigns
from .admin_imports import SubscriberImportMixin
from .admin_previews import preview_block
from .admin_reports import CampaignReportMixin
from .campaigns import content_errors as campaign_content_errors
from .campaigns import preview
from .exceptions import InvalidTransition, RuleValidationError
from .gdpr import erase_subscriber, export_subscriber
from .models import (
    AB_FIELDS,
    AB_SETTINGS,
    COUNTER_FIELDS,
    ABVariant,
    CampaignStatus,
    ConsentEvent,
    CustomerSegment,
    EmailCampaign,
    EmailEvent,
    EmailSend,
    EmailTemplate,
    NewsletterSubscription,
    SegmentMembership,
    Suppression,
)
from .segments.service import preview_segment, refresh_counts, snapshot
from .subscriptions import Consent, unsubscribe


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
class ConsentEventAdmin(admin.ModelAdmin):
    list_display = ("timestamp", "subscription", "event", "source", "form", "ip_address")
    list_filter = ("event", "source")
    search_fields = ("subscription__email",)
    date_hierarchy = "timestamp"
    list_select_related = ("subscription",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


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


@admin.register(CustomerSegment)
class CustomerSegmentAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "is_dynamic", "is_active", "member_count", "last_calculated")
    list_filter = ("is_dynamic", "is_active")
    search_fields = ("name", "slug", "description")
    prepopulated_fields = {"slug": ("name",)}
    readonly_fields = ("member_count", "last_calculated", "snapshot_at", "preview")
    actions = ["refresh_selected", "snapshot_selected"]

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        if obj.rules is None:  # an emptied rules box (or `null`) means no rules, not SQL NULL
            obj.rules = {}
        super().save_model(request, obj, form, change)

    @admin.display(description=_("Preview"))
    def preview(self, obj: CustomerSegment) -> str:
        if obj.pk is None:
            return "—"
        try:
            result = preview_segment(obj)
        except RuleValidationError as exc:
            return format_html("<strong>{}</strong>", str(exc))
        emails = format_html_join(", ", "{}", ((row["email"],) for row in result.sample))
        return format_html("{} — {}", result.count, emails)

    @admin.action(description=_("Recount members"))
    def refresh_selected(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:

        counts = refresh_counts(queryset)
        invalid = [pk for pk, count in counts.items() if count is None]
        self.message_user(request, _("Segments recounted: %(n)d.") % {"n": len(counts)})
        if invalid:
            self.message_user(
                request,
                _("Invalid rules in segments %(ids)s.") % {"ids": invalid},
                messages.WARNING,
            )

    @admin.action(description=_("Freeze members (static segment)"))
    def snapshot_selected(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:

        for segment in queryset:
            try:
                count = snapshot(segment)
            except RuleValidationError as exc:
                self.message_user(request, f"{segment}: {exc}", messages.ERROR)
            else:
                self.message_user(request, f"{segment}: {count}")


@admin.register(SegmentMembership)
class SegmentMembershipAdmin(admin.ModelAdmin):
    list_display = ("segment", "subscription", "added_at")
    list_filter = ("segment",)
    search_fields = ("subscription__email", "segment__name")
    raw_id_fields = ("subscription",)
    list_select_related = ("segment", "subscription")


class EmailCampaignAdminForm(forms.ModelForm):
    """Scheduling through the form needs a time to come, like ``campaigns.schedule()``."""

    class Meta:
        model = EmailCampaign
        fields = ["status", "scheduled_at"]  # the admin passes its fieldsets' fields

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        scheduling = {"status", "scheduled_at"} & set(self.changed_data)
        if data.get("status") == CampaignStatus.SCHEDULED and scheduling:
            when = data.get("scheduled_at")
            if when is None:
                self.add_error("scheduled_at", _("Give the date and time to send it."))
            elif when <= timezone.now():
                self.add_error("scheduled_at", _("The scheduled time is in the past."))
        return data

    def _post_clean(self) -> None:
        """Content the sandbox refuses, or a segment with invalid rules, is reported on the
        field that holds the problem (the model stays free of service imports)."""
        super()._post_clean()  # type: ignore[misc]  # Django API, missing from the stubs
        for field, problems in campaign_content_errors(self.instance).items():
            for problem in problems:
                self.add_error(field if field in self.fields else None, problem)


@admin.register(EmailCampaign)
class EmailCampaignAdmin(CampaignReportMixin, admin.ModelAdmin):
    form = EmailCampaignAdminForm
    list_display = (
        "name",
        "status",
        "segment",
        "scheduled_at",
        "recipient_count",
        "sent_count",
        "open_rate_display",
        "click_rate_display",
        "revenue_attributed",
        "report_link",
    )
    list_filter = ("status", "is_ab_test", "is_important", "topic")
    search_fields = ("name", "subject")
    date_hierarchy = "created_at"
    list_select_related = ("segment",)
    raw_id_fields = ("created_by",)
    readonly_fields = (
        "recipient_count",
        "started_at",
        "completed_at",
        "paused_reason",
        *COUNTER_FIELDS,
        "ab_winner",
        "ab_decided_at",
        "ab_result_words",
    )
    fieldsets = (
        (None, {"fields": ("name", "status", "template", "segment", "topic", "is_important")}),
        (
            _("Content"),
            {"fields": ("subject", "preview_text", "from_email", "html_content", "text_content")},
        ),
        (
            _("Scheduling"),
            {"fields": ("scheduled_at", "started_at", "completed_at", "paused_reason")},
        ),
        (
            _("A/B testing"),
            {
                "classes": ("collapse",),
                # the stored result in words, never the raw dict
                "fields": tuple(
                    "ab_result_words" if name == "ab_result" else name for name in AB_FIELDS
                ),
            },
        ),
        (
            _("Results"),
            {"fields": ("recipient_count", *COUNTER_FIELDS)},
        ),
    )

    actions = [
        "start_selected",
        "pause_selected",
        "resume_selected",
        "cancel_selected",
        "winner_a",
        "winner_b",
    ]

    def formfield_for_choice_field(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "status":  # sending, paused, … only through the actions below
            kwargs["choices"] = [
                (s.value, s.label) for s in (CampaignStatus.DRAFT, CampaignStatus.SCHEDULED)
            ]
        return super().formfield_for_choice_field(db_field, request, **kwargs)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        fields = [*super().get_readonly_fields(request, obj), "progress", "content_preview"]
        if obj is not None and obj.status not in ("draft", "scheduled"):
            # what is being (or was) sent cannot change under the workers' feet
            fields += [
                "status",
                "template",
                "segment",
                "topic",
                "is_important",
                "subject",
                "preview_text",
                "from_email",
                "html_content",
                "text_content",
                "scheduled_at",
                *AB_SETTINGS,
            ]
        return fields

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        fieldsets = list(super().get_fieldsets(request, obj))
        if obj is not None:
            fieldsets.insert(
                1, (_("Progress and preview"), {"fields": ("progress", "content_preview")})
            )
        return fieldsets

    @admin.display(description=_("Preview"))
    def content_preview(self, obj: EmailCampaign) -> str:
        return preview_block(lambda: preview(obj))

    def _move(
        self,
        request: HttpRequest,
        queryset: QuerySet[Any],
        move: Callable[..., Any],
        **kwargs: Any,
    ) -> None:
        """Apply a lifecycle function of ``campaigns`` to each campaign; refusals become
        error messages, never a server error."""

        for campaign in queryset:
            try:
                move(campaign, **kwargs)
            except (InvalidTransition, ValidationError) as exc:
                self.message_user(request, f"{campaign}: {exc}", messages.ERROR)
            else:
                done = kwargs.get("winner") or campaign.get_status_display()
                self.message_user(request, f"{campaign}: {done}")

    @admin.action(description=_("Send now"))
    def start_selected(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        self._move(request, queryset, campaigns.start)

    @admin.action(description=_("Pause"))
    def pause_selected(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        self._move(request, queryset, campaigns.pause)

    @admin.action(description=_("Resume"))
    def resume_selected(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        self._move(request, queryset, campaigns.resume)

    @admin.action(description=_("Cancel"))
    def cancel_selected(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        self._move(request, queryset, campaigns.cancel)

    @admin.action(description=_("A/B: choose variant A as the winner"))
    def winner_a(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        self._move(request, queryset, campaigns.set_winner, winner=ABVariant.A)

    @admin.action(description=_("A/B: choose variant B as the winner"))
    def winner_b(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        self._move(request, queryset, campaigns.set_winner, winner=ABVariant.B)

    @admin.display(description=_("Open %"))
    def open_rate_display(self, obj: EmailCampaign) -> str:
        return f"{obj.open_rate:.1f}"

    @admin.display(description=_("Click %"))
    def click_rate_display(self, obj: EmailCampaign) -> str:
        return f"{obj.click_rate:.1f}"


class EmailEventInline(ReadOnlyInline):
    model = EmailEvent
    fields = ("timestamp", "event_type", "link_url", "bounce_type", "esp_event_id")
    readonly_fields = fields


@admin.register(EmailSend)
class EmailSendAdmin(admin.ModelAdmin):
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
class EmailEventAdmin(admin.ModelAdmin):
    list_display = ("timestamp", "event_type", "send", "link_url", "bounce_type")
    list_filter = ("event_type",)
    search_fields = ("send__email_address", "esp_event_id", "link_url")
    date_hierarchy = "timestamp"
    raw_id_fields = ("send",)
    list_select_related = ("send",)
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}


# the other admin modules register their models when this one is imported
from . import (  # noqa: E402
    admin_conversions,  # noqa: F401  (conversions, read-only)
    admin_sequences,  # noqa: F401  (sequences, steps, enrollments)
)
