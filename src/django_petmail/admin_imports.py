"""The subscriber admin's CSV import page (upload, then a progress page that refreshes itself
until the import is done, with its error report) and its CSV export action."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _

from . import subscribers_csv
from .exceptions import ImportTooLarge
from .receivers import queue_import


class SubscriberImportForm(forms.Form):
    file = forms.FileField(
        label=_("CSV file"),
        help_text=_(
            "UTF-8, with a header row: email (required), first_name, topics (separated by ;), "
            "frequency, language."
        ),
    )
    consent_basis = forms.CharField(
        label=_("Consent basis"),
        required=False,
        max_length=255,
        help_text=_(
            "How these people agreed to receive your newsletter (for example: “paper form at "
            "the front desk, 2025”). It is stored in the consent history and the contacts are "
            "active at once. Leave it empty to send each new contact a confirmation email."
        ),
    )


def csv_response(queryset: QuerySet[Any], filename: str) -> StreamingHttpResponse:
    """The subscriptions as a streamed CSV download, formula cells escaped."""
    response = StreamingHttpResponse(
        subscribers_csv.export_rows(queryset), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


class SubscriberImportMixin:
    """Mixed into the subscription ``ModelAdmin``: import URLs and the CSV export action."""

    admin_site: Any
    model: Any

    def get_urls(self) -> list[Any]:
        view = self.admin_site.admin_view
        return [
            path("import/", view(self.import_view), name="django_petmail_subscription_import"),
            path(
                "import/<str:import_id>/",
                view(self.import_status_view),
                name="django_petmail_subscription_import_status",
            ),
            *super().get_urls(),  # type: ignore[misc]
        ]

    def import_view(self, request: HttpRequest) -> HttpResponse:
        if not (self.has_add_permission(request) and self.has_change_permission(request)):  # type: ignore[attr-defined]
            raise PermissionDenied
        form = SubscriberImportForm()
        if request.method == "POST":
            try:
                subscribers_csv.check_size(int(request.META.get("CONTENT_LENGTH") or 0) - 64 * 1024)
            except ImportTooLarge as exc:
                return HttpResponse(str(exc), status=413, content_type="text/plain; charset=utf-8")
            form = SubscriberImportForm(request.POST, request.FILES)
            if form.is_valid():
                upload = form.cleaned_data["file"]
                try:
                    import_id = subscribers_csv.start_import(
                        upload,
                        size=upload.size,
                        consent_basis=form.cleaned_data["consent_basis"],
                        user=request.user,
                    )
                except ImportTooLarge as exc:
                    return HttpResponse(
                        str(exc), status=413, content_type="text/plain; charset=utf-8"
                    )
                if not queue_import(import_id):
                    messages.error(request, _("The import could not be started."))
                return redirect("admin:django_petmail_subscription_import_status", import_id)
        return TemplateResponse(
            request,
            "admin/django_petmail/import_subscribers.html",
            {
                **self.admin_site.each_context(request),
                "title": _("Import subscribers from CSV"),
                "form": form,
                "opts": self.model._meta,
            },
        )

    def import_status_view(self, request: HttpRequest, import_id: str) -> HttpResponse:
        if not self.has_view_permission(request):  # type: ignore[attr-defined]
            raise PermissionDenied
        state = subscribers_csv.get_state(import_id)
        if state is None:
            raise Http404
        total = state["bytes_total"] or 1
        finished = state["status"] in (subscribers_csv.ImportStatus.DONE, "failed")
        return TemplateResponse(
            request,
            "admin/django_petmail/import_status.html",
            {
                **self.admin_site.each_context(request),
                "title": _("Subscriber import"),
                "state": state,
                "finished": finished,
                "percent": 100 if finished else min(99, 100 * state["bytes_read"] // total),
                "opts": self.model._meta,
                "changelist_url": reverse("admin:django_petmail_newslettersubscription_changelist"),
            },
        )

    def export_csv_selected(self, request: HttpRequest, queryset: QuerySet[Any]) -> Any:
        return csv_response(queryset, "petmail-subscribers.csv")

    export_csv_selected.short_description = _("Export selected as CSV")  # type: ignore[attr-defined]
