"""Campaign admin: the form (topics from ``TOPICS``, content from the template, scheduling
through the service), a confirmation page with who will and will not receive a campaign
before it starts, test sends, and the lifecycle actions with messages, never a 500."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils import formats, timezone
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from . import campaigns
from .admin_previews import preview_block
from .admin_reports import CampaignReportMixin
from .campaigns import AudienceBreakdown, preview
from .campaigns import content_errors as campaign_content_errors
from .exceptions import InvalidTransition, RuleValidationError
from .forms import topic_choices
from .models import (
    AB_FIELDS,
    AB_SETTINGS,
    COUNTER_FIELDS,
    ABVariant,
    CampaignStatus,
    EmailCampaign,
    SubscriptionStatus,
)

#: Filled from the chosen template when left empty (the HTML is not copied: an empty
#: ``html_content`` sends the template's, so later edits of the template are sent too).
TEMPLATE_FILLS = ("subject", "preview_text", "text_content")


class EmailCampaignAdminForm(forms.ModelForm):
    """Topics come from ``TOPICS``; an empty subject, preview text or text part is filled
    from the chosen template; scheduling needs a time to come, like ``campaigns.schedule()``."""

    topic = forms.ChoiceField(label=_("topic"), required=False)

    class Meta:
        model = EmailCampaign
        fields = ["status", "scheduled_at"]  # the admin passes its fieldsets' fields

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in ("subject", "html_content"):  # may come from the template
            if name in self.fields:
                self.fields[name].required = False
        if "topic" in self.fields:
            choices: list[tuple[str, Any]] = [("", _("Every subscriber (no topic)"))]
            choices += topic_choices()
            stored = self.instance.topic
            if stored and stored not in dict(choices):  # shown, and refused on save
                choices.append((stored, stored))
            cast(forms.ChoiceField, self.fields["topic"]).choices = choices

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        template = data.get("template")
        if template is not None:
            for name in TEMPLATE_FILLS:
                if name in self.fields and not (data.get(name) or "").strip():
                    data[name] = getattr(template, name, "") or ""
        scheduling = {"status", "scheduled_at"} & set(self.changed_data)
        if data.get("status") == CampaignStatus.SCHEDULED and scheduling:
            when = data.get("scheduled_at")
            if when is None:
                self.add_error("scheduled_at", _("Give the date and time to send it."))
            elif when <= timezone.now():
                self.add_error("scheduled_at", _("The scheduled time is in the past."))
        return data

    def _post_clean(self) -> None:
        """Content the sandbox refuses, an unknown topic, or a segment with invalid rules is
        reported on the field that holds the problem (the model stays free of services)."""
        super()._post_clean()  # type: ignore[misc]  # Django API, missing from the stubs
        for field, problems in campaign_content_errors(self.instance).items():
            for problem in problems:
                self.add_error(field if field in self.fields else None, problem)


def breakdown_lines(campaign: EmailCampaign, found: AudienceBreakdown) -> list[str]:
    """Why the segment's other members will not receive ``campaign``, one line a reason."""
    statuses = dict(SubscriptionStatus.choices)
    words = {
        "paused": gettext("Paused their subscription"),
        "suppressed": gettext("On the suppression list"),
        "topic_not_chosen": gettext("Did not choose the topic '%(topic)s'")
        % {"topic": campaign.topic},
        "important_only": gettext("Receive important mail only"),
        "frequency_cap": gettext("Reached their frequency cap"),
    }
    lines = []
    for reason, count in found.excluded().items():
        if reason.startswith("status_"):
            why = gettext("Not active (%(status)s)") % {
                "status": statuses.get(reason.removeprefix("status_"), reason)
            }
        else:
            why = words[reason]
        lines.append(gettext("%(reason)s: %(count)d.") % {"reason": why, "count": count})
    return lines


def breakdown_summary(found: AudienceBreakdown) -> str:
    return ngettext(
        "%(count)d subscriber will receive it (of %(matched)d in the segment).",
        "%(count)d subscribers will receive it (of %(matched)d in the segment).",
        found.recipients,
    ) % {"count": found.recipients, "matched": found.matched}


class TestSendForm(forms.Form):
    emails = forms.CharField(
        label=_("Addresses"),
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("One address a line or separated by commas; at most 20."),
    )
    variant = forms.ChoiceField(label=_("Variant"), choices=ABVariant.choices)

    def clean_emails(self) -> list[str]:
        raw = self.cleaned_data["emails"].replace(",", "\n").split()
        emails = [e.strip() for e in raw if e.strip()]
        if not emails:
            raise ValidationError(_("Give at least one address."))
        if len(emails) > 20:
            raise ValidationError(_("At most 20 test addresses."))
        for email in emails:
            forms.EmailField().clean(email)
        return emails


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
        "send_test_selected",
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
        fields = [
            *super().get_readonly_fields(request, obj),
            "progress",
            "worker_status",
            "content_preview",
        ]
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
                1,
                (
                    _("Progress and preview"),
                    {"fields": ("progress", "worker_status", "content_preview")},
                ),
            )
        return fieldsets

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        """The form saves the content; moving to or from ``scheduled`` goes through the
        service (``campaigns.schedule``, ``campaigns.transition``), never a raw write."""
        if "status" not in form.fields:
            super().save_model(request, obj, form, change)
            return
        stored = (
            EmailCampaign.objects.filter(pk=obj.pk).values("status", "scheduled_at").first()
            if change
            else None
        ) or {"status": CampaignStatus.DRAFT, "scheduled_at": None}
        target, when = obj.status, obj.scheduled_at
        obj.status, obj.scheduled_at = stored["status"], stored["scheduled_at"]
        super().save_model(request, obj, form, change)
        try:
            if target == CampaignStatus.SCHEDULED and (
                stored["status"] != CampaignStatus.SCHEDULED or when != stored["scheduled_at"]
            ):
                campaigns.schedule(obj, when)
            elif target == CampaignStatus.DRAFT and stored["status"] == CampaignStatus.SCHEDULED:
                campaigns.transition(obj, CampaignStatus.DRAFT)
        except (InvalidTransition, ValidationError) as exc:
            self.message_user(request, f"{obj}: {_problems(exc)}", messages.ERROR)

    @admin.display(description=_("Preview"))
    def content_preview(self, obj: EmailCampaign) -> str:
        return preview_block(lambda: preview(obj))

    @admin.display(description=_("Workers"))
    def worker_status(self, obj: EmailCampaign) -> str:
        since = campaigns.waiting_for_worker(obj)
        if since is None:
            if obj.status == CampaignStatus.PAUSED and obj.paused_reason:
                return gettext("Paused: %(reason)s") % {"reason": obj.paused_reason}
            return "—"
        return gettext(
            "Waiting for a worker since %(time)s: no send has moved since the campaign "
            "started. Is a Celery worker running and consuming the queue?"
        ) % {"time": formats.date_format(timezone.localtime(since), "DATETIME_FORMAT")}

    def _move(
        self,
        request: HttpRequest,
        queryset: QuerySet[Any],
        move: Callable[..., Any],
        **kwargs: Any,
    ) -> None:
        """Apply a lifecycle function of ``campaigns`` to each campaign; refusals become
        error messages, never a server error. The message says where the campaign is now
        (a small campaign may already be sent; one whose workers could not be queued is
        paused, with the reason)."""

        for campaign in queryset:
            try:
                move(campaign, **kwargs)
            except (InvalidTransition, ValidationError) as exc:
                self.message_user(request, f"{campaign}: {_problems(exc)}", messages.ERROR)
                continue
            campaign.refresh_from_db()
            if campaign.status == CampaignStatus.PAUSED and campaign.paused_reason:
                self.message_user(
                    request,
                    gettext("%(campaign)s: paused. %(reason)s")
                    % {"campaign": campaign, "reason": campaign.paused_reason},
                    messages.WARNING,
                )
                continue
            done = kwargs.get("winner") or campaign.get_status_display()
            self.message_user(request, f"{campaign}: {done}")

    @admin.action(description=_("Send now"))
    def start_selected(self, request: HttpRequest, queryset: QuerySet[Any]) -> Any:
        """A confirmation page first: who will receive each campaign and why the others
        will not; a campaign that would reach nobody is refused with that explanation."""
        rows = []
        for campaign in queryset.select_related("segment"):
            if campaign.status not in (CampaignStatus.DRAFT, CampaignStatus.SCHEDULED):
                rows.append({"campaign": campaign, "error": gettext("It cannot be started.")})
                continue
            try:
                found = campaigns.audience_breakdown(campaign)
            except RuleValidationError as exc:
                error = gettext("The segment's rules are invalid: %(error)s") % {"error": exc}
                rows.append({"campaign": campaign, "error": error})
                continue
            rows.append(
                {
                    "campaign": campaign,
                    "found": found,
                    "summary": breakdown_summary(found),
                    "lines": breakdown_lines(campaign, found),
                }
            )
        if request.POST.get("post") != "yes":
            return TemplateResponse(
                request,
                "admin/django_petmail/emailcampaign/start_confirmation.html",
                {
                    **self.admin_site.each_context(request),
                    "title": gettext("Send these campaigns now?"),
                    "rows": rows,
                    "queryset": queryset,
                    "opts": self.model._meta,
                    "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
                },
            )
        startable = []
        for row in rows:
            campaign = row["campaign"]
            if "found" in row and not row["found"].recipients:
                why = " ".join(row["lines"]) or gettext("The segment has no members.")
                self.message_user(
                    request,
                    gettext("%(campaign)s: not started, it would reach nobody. %(why)s")
                    % {"campaign": campaign, "why": why},
                    messages.ERROR,
                )
            else:
                startable.append(campaign.pk)
        # the others are refused by start() itself (wrong state, invalid rules), as messages
        self._move(request, queryset.filter(pk__in=startable), campaigns.start)
        return None

    @admin.action(description=_("Send a test"))
    def send_test_selected(self, request: HttpRequest, queryset: QuerySet[Any]) -> Any:
        """To the staff user's address or a list (at most 20), with inert personal links."""
        if queryset.count() != 1:
            self.message_user(request, gettext("Choose one campaign to test."), messages.ERROR)
            return None
        campaign = queryset.get()
        if request.POST.get("post") == "yes":
            form = TestSendForm(request.POST)
            if form.is_valid():
                try:
                    sent = campaigns.send_test(
                        campaign, form.cleaned_data["emails"], form.cleaned_data["variant"]
                    )
                except ValidationError as exc:
                    self.message_user(request, f"{campaign}: {_problems(exc)}", messages.ERROR)
                else:
                    self.message_user(
                        request,
                        ngettext(
                            "%(campaign)s: %(count)d test message sent.",
                            "%(campaign)s: %(count)d test messages sent.",
                            sent,
                        )
                        % {"campaign": campaign, "count": sent},
                        messages.SUCCESS,
                    )
                return None
        else:
            user_email = getattr(request.user, "email", "") or ""
            form = TestSendForm(initial={"emails": user_email, "variant": ABVariant.A})
        return TemplateResponse(
            request,
            "admin/django_petmail/emailcampaign/send_test.html",
            {
                **self.admin_site.each_context(request),
                "title": gettext("Send a test of %(campaign)s") % {"campaign": campaign},
                "campaign": campaign,
                "form": form,
                "opts": self.model._meta,
                "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            },
        )

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


def _problems(exc: Exception) -> str:
    """A ``ValidationError``'s messages as one line (field: message), else its text."""
    if isinstance(exc, ValidationError) and hasattr(exc, "error_dict"):
        return " ".join(
            f"{field}: {message}" for field, found in exc.message_dict.items() for message in found
        )
    if isinstance(exc, ValidationError):
        return " ".join(exc.messages)
    return str(exc)
