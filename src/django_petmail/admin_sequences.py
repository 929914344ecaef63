"""Admin for automated sequences: the sequence with its steps (a preview per step), its
trigger settings chosen from the registry, pause/resume/cancel and "enroll a segment now";
enrollments with their timeline and pause/resume/cancel.

State changes go through ``sequences.enrollment`` (never a raw status write), and every
refusal is a message or a form error, never a server error.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import QuerySet
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from .admin_previews import preview_block
from .admin_reports import SequenceReportMixin
from .exceptions import RuleValidationError
from .models import (
    COUNTER_FIELDS,
    STEP_FIELDS,
    AutomatedSequence,
    CustomerSegment,
    EmailEvent,
    SequenceEnrollment,
    SequenceStep,
    TriggerType,
)
from .sequences import enrollment as service
from .sequences.registry import TriggerKind, sequence_errors, sequence_triggers, skip_conditions
from .sequences.steps import numbering_errors, step_numbers, step_preview

# --- the sequence form: trigger settings from the registry -----------------------------------


def _label(name: str) -> str:
    entry = sequence_triggers.get_entry(name)
    label = str(entry.meta.get("label") or name)
    kind = entry.meta["kind"]
    kind_label = gettext("event") if kind == TriggerKind.EVENT else gettext("scheduled")
    return f"{label} ({kind_label})"


def _keep(choices: list[tuple[str, str]], current: str) -> list[tuple[str, str]]:
    """A stored value that is no longer registered stays selectable, so the page renders and
    the model's ``clean()`` names what is wrong with it."""
    if current and current not in {value for value, _label in choices}:
        choices.append((current, gettext("%(name)s (not registered)") % {"name": current}))
    return choices


def trigger_type_choices(current: str = "") -> list[tuple[str, str]]:
    choices = [
        (str(t.value), _label(t.value) if t.value in sequence_triggers else str(t.label))
        for t in TriggerType
        if t == TriggerType.CUSTOM or t.value in sequence_triggers
    ]
    return _keep(choices, current)


def custom_trigger_choices(current: str = "") -> list[tuple[str, str]]:
    builtin = {str(t.value) for t in TriggerType}
    names = sorted(n for n in sequence_triggers.names() if n not in builtin)
    return _keep([("", "---------"), *((n, _label(n)) for n in names)], current)


def goal_trigger_choices(current: str = "") -> list[tuple[str, str]]:
    names = sorted(e.name for e in sequence_triggers if e.meta.get("kind") == TriggerKind.EVENT)
    return _keep([("", "---------"), *((n, _label(n)) for n in names)], current)


def conditions_help() -> str:
    parts = []
    for entry in sorted(sequence_triggers, key=lambda e: e.name):
        declared = entry.meta.get("conditions") or {}
        if declared:
            keys = ", ".join(f"{key} ({kind.__name__})" for key, kind in declared.items())
            parts.append(f"{entry.name}: {keys}")
    known = "; ".join(parts) or "—"
    return gettext("A JSON object. Conditions each trigger accepts: %(known)s.") % {"known": known}


def skip_if_help() -> str:
    entries = sorted(skip_conditions, key=lambda e: e.name)
    known = ", ".join(
        f"{e.name} ({e.meta['label']})" if e.meta.get("label") else e.name for e in entries
    ) or gettext("none is registered")
    return gettext(
        'A JSON object such as {"condition": value}; owners matching any condition skip the '
        "step. Registered skip conditions: %(known)s."
    ) % {"known": known}


class AutomatedSequenceAdminForm(forms.ModelForm):
    trigger_type = forms.ChoiceField(label=_("trigger"))
    custom_trigger = forms.ChoiceField(
        label=_("custom trigger"),
        required=False,
        help_text=_("A trigger registered with register_trigger(), for “Custom event”."),
    )
    goal_trigger = forms.ChoiceField(
        label=_("goal"),
        required=False,
        help_text=_(
            "Event trigger that meets the goal (e.g. “purchase”): the enrollment ends as converted."
        ),
    )

    class Meta:
        model = AutomatedSequence
        fields = [  # the admin passes its fieldsets' fields
            "name",
            "trigger_type",
            "custom_trigger",
            "trigger_conditions",
            "goal_trigger",
        ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        instance = self.instance
        fields = self.fields
        fields["trigger_type"].choices = trigger_type_choices(instance.trigger_type or "")  # type: ignore[attr-defined]
        fields["custom_trigger"].choices = custom_trigger_choices(instance.custom_trigger or "")  # type: ignore[attr-defined]
        fields["goal_trigger"].choices = goal_trigger_choices(instance.goal_trigger or "")  # type: ignore[attr-defined]
        if "trigger_conditions" in fields:
            fields["trigger_conditions"].help_text = conditions_help()

    def clean_trigger_conditions(self) -> Any:
        value = self.cleaned_data.get("trigger_conditions")
        return {} if value is None else value  # an emptied box means no conditions


# --- steps ------------------------------------------------------------------------------------


class StepFormSet(BaseInlineFormSet):
    """Step numbers 1..n, without gaps or repeats, over the steps that are kept."""

    def clean(self) -> None:
        super().clean()
        numbers = []
        for form in self.forms:
            if not getattr(form, "cleaned_data", None) or form.cleaned_data.get("DELETE"):
                continue
            number = form.cleaned_data.get("step_number")
            if number is None:
                return  # that form already has its own error
            numbers.append(number)
        problems = numbering_errors(numbers)
        if problems:
            label = SequenceStep._meta.get_field("step_number").verbose_name
            raise forms.ValidationError([f"{label}: {problem}" for problem in problems])


class StepForm(forms.ModelForm):
    class Meta:
        model = SequenceStep
        fields = ["step_number", "skip_if"]  # the admin passes its own fields

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if "skip_if" in self.fields:
            self.fields["skip_if"].help_text = skip_if_help()

    def clean_skip_if(self) -> Any:
        value = self.cleaned_data.get("skip_if")
        return {} if value is None else value


def render_step_preview(step: SequenceStep) -> SafeString | str:
    if step.pk is None:
        return "—"
    return preview_block(lambda: step_preview(step), height=360)


class SequenceStepInline(admin.StackedInline):
    model = SequenceStep
    form = StepForm
    formset = StepFormSet
    extra = 0
    fields = (*STEP_FIELDS, "preview", "results")
    readonly_fields = ("preview", "results")
    show_change_link = True

    @admin.display(description=_("Preview"))
    def preview(self, obj: SequenceStep) -> SafeString | str:
        return render_step_preview(obj)

    @admin.display(description=_("Results"))
    def results(self, obj: SequenceStep) -> SafeString | str:
        return step_results(obj)


def step_results(step: SequenceStep) -> SafeString | str:
    if step.pk is None:
        return "—"
    return format_html_join(
        " · ",
        "{}: {}",
        (
            (getattr(SequenceStep._meta.get_field(name), "verbose_name", name), getattr(step, name))
            for name in COUNTER_FIELDS
        ),
    )


# --- sequences --------------------------------------------------------------------------------


class EnrollSegmentForm(forms.Form):
    segment = forms.ModelChoiceField(
        label=_("segment"), queryset=CustomerSegment.objects.filter(is_active=True)
    )


@admin.register(AutomatedSequence)
class AutomatedSequenceAdmin(SequenceReportMixin, admin.ModelAdmin):
    form = AutomatedSequenceAdminForm
    list_display = (
        "name",
        "trigger_type",
        "custom_trigger",
        "segment",
        "is_marketing",
        "is_active",
        "paused_reason_display",
        "created_at",
        "report_link",
    )
    list_filter = ("trigger_type", "is_marketing", "is_active")
    search_fields = ("name", "description")
    list_select_related = ("segment",)
    inlines = [SequenceStepInline]
    readonly_fields = ("is_active", "paused_reason", "created_at", "updated_at")
    actions = ["pause_selected", "resume_selected", "cancel_selected", "enroll_segment"]

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        state: tuple[str, ...] = ("is_active",)
        if obj is not None and not obj.is_active:
            state += ("paused_reason",)
        if obj is not None:
            state += ("created_at", "updated_at")
        return (
            (None, {"fields": ("name", "description", *state)}),
            (
                _("Trigger"),
                {
                    "fields": (
                        "trigger_type",
                        "custom_trigger",
                        "trigger_conditions",
                        "goal_trigger",
                        "reentry",
                        "reentry_cooldown_days",
                    )
                },
            ),
            (_("Audience"), {"fields": ("segment", "topic", "is_marketing")}),
        )

    @admin.display(description=_("pause reason"))
    def paused_reason_display(self, obj: AutomatedSequence) -> str:
        return "" if obj.is_active else obj.paused_reason or "—"

    @admin.action(description=_("Pause"))
    def pause_selected(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        reason = gettext("paused by %(user)s") % {"user": request.user}
        for sequence in queryset:
            service.pause_sequence(sequence, reason=reason)
            self.message_user(request, f"{sequence}: {gettext('Paused')}")

    @admin.action(description=_("Resume"))
    def resume_selected(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        for sequence in queryset:
            problems = sequence_errors(sequence)
            if problems:  # a sequence that cannot run stays paused, with the reason
                detail = "; ".join(f"{k}: {' '.join(v)}" for k, v in problems.items())
                self.message_user(request, f"{sequence}: {detail}", messages.ERROR)
                continue
            service.resume_sequence(sequence)
            self.message_user(request, f"{sequence}: {gettext('Resumed')}")

    @admin.action(description=_("Cancel (ends every running enrollment)"))
    def cancel_selected(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        for sequence in queryset:
            count = service.cancel_sequence(sequence)
            self.message_user(
                request,
                ngettext(
                    "%(sequence)s: cancelled; %(count)d enrollment ended.",
                    "%(sequence)s: cancelled; %(count)d enrollments ended.",
                    count,
                )
                % {"sequence": sequence, "count": count},
            )

    @admin.action(description=_("Enroll a segment now"))
    def enroll_segment(self, request: HttpRequest, queryset: QuerySet[Any]) -> Any:
        form = EnrollSegmentForm(request.POST if request.POST.get("post") == "yes" else None)
        if not form.is_valid():
            return TemplateResponse(
                request,
                "admin/django_petmail/enroll_segment.html",
                {
                    **self.admin_site.each_context(request),
                    "title": gettext("Enroll a segment now"),
                    "queryset": queryset,
                    "form": form,
                    "opts": self.model._meta,
                    "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
                },
            )
        segment = form.cleaned_data["segment"]
        for sequence in queryset:
            if not sequence.is_active:
                self.message_user(
                    request,
                    gettext("%(sequence)s is paused: nobody was enrolled.")
                    % {"sequence": sequence},
                    messages.WARNING,
                )
                continue
            try:
                count = service.enroll_segment(sequence, segment)
            except RuleValidationError as exc:
                self.message_user(
                    request,
                    gettext("The segment's rules are invalid: %(error)s") % {"error": exc},
                    messages.ERROR,
                )
                return None
            self.message_user(
                request,
                ngettext(
                    "%(sequence)s: %(count)d subscriber enrolled.",
                    "%(sequence)s: %(count)d subscribers enrolled.",
                    count,
                )
                % {"sequence": sequence, "count": count},
                messages.SUCCESS,
            )
        return None


class SingleStepForm(StepForm):
    """A step edited on its own page keeps its sequence numbered 1..n."""

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        sequence, number = data.get("sequence"), data.get("step_number")
        if sequence is not None and number is not None:
            others = step_numbers(sequence, exclude=self.instance.pk)
            for problem in numbering_errors([*others, number]):
                self.add_error("step_number", problem)
        return data


@admin.register(SequenceStep)
class SequenceStepAdmin(admin.ModelAdmin):
    form = SingleStepForm
    list_display = ("sequence", "step_number", "subject", "delay_days", "delay_hours", "is_active")
    list_filter = ("sequence", "is_active")
    search_fields = ("subject", "sequence__name")
    list_select_related = ("sequence",)
    fields = ("sequence", *STEP_FIELDS, "preview", *COUNTER_FIELDS)
    readonly_fields = ("preview", *COUNTER_FIELDS)

    @admin.display(description=_("Preview"))
    def preview(self, obj: SequenceStep) -> SafeString | str:
        return render_step_preview(obj)


# --- enrollments ------------------------------------------------------------------------------


ENROLLMENT_FIELDS = (
    "sequence",
    "owner",
    "subscription",
    "status",
    "cycle",
    "current_step",
    "next_send_at",
    "context",
    "enrolled_at",
    "completed_at",
    "converted_at",
    "updated_at",
    "cancelled_reason",
)


def enrollment_timeline(enrollment: SequenceEnrollment) -> SafeString | str:
    """The step sends of one enrollment, oldest first, with their tracking events."""
    sends = list(
        enrollment.sends.select_related("sequence_step").order_by(
            "sequence_step__step_number", "created_at"
        )
    )
    if not sends:
        return gettext("No step has been reached yet.")
    events: dict[int, list[EmailEvent]] = {}
    for event in EmailEvent.objects.filter(send__in=sends).order_by("timestamp"):
        events.setdefault(event.send_id, []).append(event)
    header = format_html_join(
        "",
        "<th>{}</th>",
        (
            (label,)
            for label in (
                gettext("Step"),
                gettext("Subject"),
                gettext("Status"),
                gettext("Sent at"),
                gettext("Opened at"),
                gettext("Clicked at"),
                gettext("Error"),
                gettext("Events"),
            )
        ),
    )
    rows = format_html_join(
        "",
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>"
        "<td>{}</td></tr>",
        (
            (
                send.sequence_step.step_number if send.sequence_step else "—",
                send.sequence_step.subject if send.sequence_step else "—",
                send.get_status_display(),
                _when(send.sent_at),
                _when(send.opened_at),
                _when(send.clicked_at),
                send.error_message or "—",
                ", ".join(
                    f"{e.get_event_type_display()} {_when(e.occurred_at or e.timestamp)}"
                    for e in events.get(send.pk, [])
                )
                or "—",
            )
            for send in sends
        ),
    )
    return format_html('<table class="petmail-timeline"><tr>{}</tr>{}</table>', header, rows)


def _when(value: Any) -> str:
    from django.utils import formats, timezone

    if value is None:
        return "—"
    return str(formats.localize(timezone.localtime(value)))


@admin.register(SequenceEnrollment)
class SequenceEnrollmentAdmin(admin.ModelAdmin):
    list_display = (
        "sequence",
        "subscription",
        "owner",
        "status",
        "current_step",
        "next_send_at",
        "enrolled_at",
    )
    list_filter = ("sequence", "status")
    list_select_related = ("sequence", "subscription", "owner")
    search_fields = ("subscription__email",)
    fields = (*ENROLLMENT_FIELDS, "timeline")
    readonly_fields = (*ENROLLMENT_FIELDS, "timeline")
    actions = ["pause_selected", "resume_selected", "cancel_selected"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # enrollments come from triggers or "enroll a segment now"

    @admin.display(description=_("Timeline"))
    def timeline(self, obj: SequenceEnrollment) -> SafeString | str:
        return enrollment_timeline(obj)

    def _report(self, request: HttpRequest, count: int, total: int, done: str) -> None:
        self.message_user(
            request,
            gettext("%(done)s: %(count)d of %(total)d selected.")
            % {"done": done, "count": count, "total": total},
            messages.SUCCESS if count else messages.WARNING,
        )

    @admin.action(description=_("Pause"))
    def pause_selected(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        self._report(request, service.pause(queryset), queryset.count(), gettext("Paused"))

    @admin.action(description=_("Resume"))
    def resume_selected(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        self._report(request, service.resume(queryset), queryset.count(), gettext("Resumed"))

    @admin.action(description=_("Cancel"))
    def cancel_selected(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        selected = SequenceEnrollment.objects.filter(pk__in=queryset.values("pk"))
        reason = gettext("cancelled by %(user)s") % {"user": request.user}
        total = selected.count()
        self._report(request, service.cancel(selected, reason=reason), total, gettext("Cancelled"))
