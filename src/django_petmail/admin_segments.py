"""Admin for segments: the rule builder over the JSON ``rules`` box, a live preview view
(count and a sample of members for the rules being edited), recount and a confirmed "freeze
members"; and the read-only list of frozen memberships.

The builder (``static/django_petmail/segment_builder.js``) is progressive enhancement: the
JSON textarea stays the form's field, so without JavaScript, or with "show JSON", authors
edit the rules directly. The page learns the fields from :func:`field_catalogue`, the same
JSON the API's ``segments/fields/`` answers.
"""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from .exceptions import RuleValidationError
from .models import CustomerSegment, SegmentMembership
from .segments.fields import field_catalogue
from .segments.rules import wrap_single_condition
from .segments.service import members_for_rules, preview, preview_segment, refresh_counts, snapshot

#: Members listed by the builder's live preview.
PREVIEW_SAMPLE_SIZE = 10


class RuleBuilderTextarea(forms.Textarea):
    """The JSON ``rules`` box, marked for the builder script that enhances it."""

    def get_context(self, name: str, value: Any, attrs: dict[str, Any] | None) -> dict[str, Any]:
        attrs = {**(attrs or {}), "data-petmail-rule-builder": "rules"}
        return super().get_context(name, value, attrs)


class CustomerSegmentAdminForm(forms.ModelForm):
    """Segment form: a single condition is wrapped into a group of one before validation,
    and rule errors are also kept with their JSON paths for the builder to place."""

    class Meta:
        model = CustomerSegment
        fields = ["name", "slug", "description", "rules", "is_dynamic", "is_active"]
        widgets = {"rules": RuleBuilderTextarea(attrs={"rows": 8, "cols": 80})}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["rules"].widget.attrs["data-errors"] = "[]"

    def clean_rules(self) -> Any:
        rules = wrap_single_condition(self.cleaned_data.get("rules"))
        try:
            members_for_rules(rules)
        except RuleValidationError as exc:
            # the model's clean reports these as the field's text errors; the builder
            # places them next to their conditions by path
            self.fields["rules"].widget.attrs["data-errors"] = json.dumps(exc.as_list())
        return rules


def _bad_request(errors: list[dict[str, Any]]) -> JsonResponse:
    return JsonResponse({"errors": errors}, status=400)


@admin.register(CustomerSegment)
class CustomerSegmentAdmin(admin.ModelAdmin):
    form = CustomerSegmentAdminForm
    list_display = ("name", "slug", "is_dynamic", "is_active", "member_count", "last_calculated")
    list_filter = ("is_dynamic", "is_active")
    search_fields = ("name", "slug", "description")
    prepopulated_fields = {"slug": ("name",)}
    readonly_fields = ("member_count", "last_calculated", "snapshot_at", "preview")
    actions = ["refresh_selected", "snapshot_selected"]

    class Media:
        js = ("django_petmail/segment_builder.js",)
        css = {"all": ("django_petmail/segment_builder.css",)}

    def get_urls(self) -> list[URLPattern]:
        info = self.opts.app_label, self.opts.model_name
        return [
            path(
                "rules-preview/",
                self.admin_site.admin_view(self.rules_preview_view),
                name="{}_{}_rules_preview".format(*info),
            ),
            *super().get_urls(),
        ]

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any):
        form = super().get_form(request, obj, change, **kwargs)
        widget = form.base_fields["rules"].widget
        widget.attrs["data-fields"] = json.dumps(field_catalogue())
        widget.attrs["data-preview-url"] = reverse(
            f"{self.admin_site.name}:{self.opts.app_label}_{self.opts.model_name}_rules_preview"
        )
        widget.attrs["data-messages"] = json.dumps(_builder_messages())
        return form

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

    def rules_preview_view(self, request: HttpRequest) -> HttpResponse:
        """``POST {"rules": …}`` (JSON) → ``{"count", "sample"}`` for the rules being edited;
        a problem → 400 ``{"errors": [{"path", "message"}]}``. Staff with view permission."""
        return _rules_preview(self, request)

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

    @admin.action(description=_("Freeze members (static segment)"), permissions=["change"])
    def snapshot_selected(self, request: HttpRequest, queryset: QuerySet[Any]) -> Any:
        if request.POST.get("post") != "yes":
            return TemplateResponse(
                request,
                "admin/django_petmail/customersegment/snapshot_confirmation.html",
                {
                    **self.admin_site.each_context(request),
                    "title": _("Freeze the members of these segments?"),
                    "segments": [_count_now(segment) for segment in queryset],
                    "queryset": queryset,
                    "opts": self.opts,
                    "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
                },
            )
        for segment in queryset:
            try:
                count = snapshot(segment)
            except RuleValidationError as exc:
                self.message_user(request, f"{segment}: {exc}", messages.ERROR)
            else:
                self.message_user(
                    request,
                    ngettext(
                        "%(segment)s: %(count)d member frozen.",
                        "%(segment)s: %(count)d members frozen.",
                        count,
                    )
                    % {"segment": segment, "count": count},
                    messages.SUCCESS,
                )


def _count_now(segment: CustomerSegment) -> dict[str, Any]:
    """How many members the rules have now (what freezing would keep), or the problem."""
    try:
        return {"segment": segment, "count": members_for_rules(segment.rules).count()}
    except RuleValidationError as exc:
        return {"segment": segment, "problem": str(exc)}


def _rules_preview(model_admin: CustomerSegmentAdmin, request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return JsonResponse({"errors": [{"path": "", "message": gettext("Use POST.")}]}, status=405)
    if not model_admin.has_view_permission(request):
        return JsonResponse(
            {"errors": [{"path": "", "message": gettext("Forbidden.")}]}, status=403
        )
    try:
        payload = json.loads(request.body or b"null")
    except (ValueError, RecursionError) as exc:  # RecursionError: absurdly deep nesting
        return _bad_request(
            [{"path": "", "message": gettext("The body is not JSON: %(error)s") % {"error": exc}}]
        )
    if not isinstance(payload, dict) or "rules" not in payload:
        return _bad_request([{"path": "", "message": gettext('Send an object: {"rules": …}.')}])
    try:
        result = preview(wrap_single_condition(payload["rules"]), PREVIEW_SAMPLE_SIZE)
    except RuleValidationError as exc:
        return _bad_request(exc.as_list())
    return JsonResponse({"count": result.count, "sample": result.sample})


def _builder_messages() -> dict[str, str]:
    """The builder's own words, translated here so the script carries no language."""
    return {
        "add_condition": gettext("Add condition"),
        "add_group": gettext("Add group"),
        "remove": gettext("Remove"),
        "all": gettext("All of these (AND)"),
        "any": gettext("Any of these (OR)"),
        "field": gettext("Field"),
        "operator": gettext("Operator"),
        "value": gettext("Value"),
        "yes": gettext("yes"),
        "no": gettext("no"),
        "show_json": gettext("Show JSON"),
        "hide_json": gettext("Hide JSON"),
        "everyone": gettext("No conditions: every eligible subscriber."),
        "count": gettext("Members now: %(count)s"),
        "sample": gettext("For example:"),
        "counting": gettext("Counting…"),
        "invalid_json": gettext(
            "The JSON cannot be shown in the builder; edit it in the box below."
        ),
        "list_help": gettext("Several values: one per line."),
        "between_help": gettext("Two values: low and high."),
        "not": gettext("NOT"),
    }


@admin.register(SegmentMembership)
class SegmentMembershipAdmin(admin.ModelAdmin):
    list_display = ("segment", "subscription", "added_at")
    list_filter = ("segment",)
    search_fields = ("subscription__email", "segment__name")
    raw_id_fields = ("subscription",)
    list_select_related = ("segment", "subscription")
