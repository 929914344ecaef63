"""Report pages in the admin: one per campaign, one per sequence, and the account overview,
with the charts of ``analytics.charts``; and the words that say a campaign's progress and its
A/B result (never a raw dict).

Every number comes from ``analytics`` (a few queries per page, whatever the number of sends);
this module only words and draws it. The pages live under the model admins' URLs
(``…/emailcampaign/<id>/report/``, ``…/emailcampaign/overview/``,
``…/automatedsequence/<id>/report/``) and ask what the admin asks: a staff login (else a
redirect to it), the view permission on the model (else 403), an existing object (else 404).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.timesince import timeuntil
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from .analytics import (
    ABSection,
    Progress,
    Report,
    campaign_report,
    overview,
    sequence_report,
)
from .analytics.charts import (
    ab_svg,
    daily_svg,
    funnel_svg,
    links_svg,
    number,
    percent,
    timeline_svg,
)
from .analytics.reports import MAX_OVERVIEW_DAYS
from .models import ABWinnerMetric, EmailCampaign

#: The overview's period when none is asked for.
DEFAULT_DAYS = 30

# --- words ------------------------------------------------------------------------------------


def progress_words(progress: Progress, *, now: datetime | None = None) -> str:
    """``"1,240 of 2,000 done (62.0 %), 3 unknown, about 4 minutes left"``."""
    if not progress.recipients:
        return gettext("No recipients yet.")
    parts = [
        gettext("%(done)s of %(total)s done (%(percent)s)")
        % {
            "done": number(progress.done),
            "total": number(progress.recipients),
            "percent": percent(progress.percent),
        }
    ]
    if progress.unknown:
        parts.append(
            ngettext(
                "%(count)s unknown (in doubt after a worker stopped)",
                "%(count)s unknown (in doubt after a worker stopped)",
                progress.unknown,
            )
            % {"count": number(progress.unknown)}
        )
    if progress.remaining:
        parts.append(
            ngettext("%(count)s still to send", "%(count)s still to send", progress.remaining)
            % {"count": number(progress.remaining)}
        )
        if progress.rate_per_second:
            parts.append(
                gettext("%(rate)s a second") % {"rate": number(progress.rate_per_second, 1)}
            )
        if progress.eta:
            parts.append(
                gettext("about %(time)s left")
                % {"time": timeuntil(progress.eta, now or timezone.now())}
            )
    return ", ".join(parts) + "."


def _p_value(value: float) -> str:
    return "< " + number(0.001, 3) if value < 0.001 else number(value, 3)


def ab_words(ab: ABSection) -> str:
    """``"Variant A wins: 24.1 % open rate vs 18.0 %, p = 0.018 (significant)"``: the
    winner (or the variant ahead while none is chosen) on the test's metric, rates over each
    variant's sent."""
    attribute = "click_rate" if ab.metric == ABWinnerMetric.CLICK_RATE else "open_rate"
    metric = ab.metric_label.lower()
    variants = {v.variant: v for v in ab.variants}
    if not any(v.sent for v in ab.variants):
        return gettext("No results yet: no variant has been sent.")
    first, second = ab.variants[0], ab.variants[1]
    if ab.winner and ab.winner in variants:
        ahead = variants[ab.winner]
    elif getattr(first, attribute) == getattr(second, attribute):
        return gettext("The variants tie: %(rate)s %(metric)s each, p = %(p)s.") % {
            "rate": percent(getattr(first, attribute)),
            "metric": metric,
            "p": _p_value(ab.p_value),
        }
    else:
        ahead = max(ab.variants, key=lambda v: getattr(v, attribute))
    behind = second if ahead is first else first
    values = {
        "variant": ahead.label,
        "rate": percent(getattr(ahead, attribute)),
        "metric": metric,
        "other": percent(getattr(behind, attribute)),
        "p": _p_value(ab.p_value),
        "significance": gettext("significant") if ab.significant else gettext("not significant"),
    }
    if ab.winner:
        return (
            gettext(
                "%(variant)s wins: %(rate)s %(metric)s vs %(other)s, p = %(p)s (%(significance)s)."
            )
            % values
        )
    return (
        gettext(
            "%(variant)s is ahead: %(rate)s %(metric)s vs %(other)s, p = %(p)s "
            "(%(significance)s); no winner chosen yet."
        )
        % values
    )


def rate_lines(report: Report) -> list[tuple[str, str]]:
    """Each rate with its denominator in words: ``("Open rate", "50.0 % of delivered")``."""
    r = report.rates
    if r.denominator == "delivered":
        of_base = gettext("%(rate)s of delivered (%(base)s)")
    else:
        of_base = gettext("%(rate)s of sent (%(base)s)")
    base = number(r.base)

    def over_base(value: float) -> str:
        return of_base % {"rate": percent(value), "base": base}

    return [
        (
            gettext("Delivery rate"),
            gettext("%(rate)s of sent (%(base)s)")
            % {"rate": percent(r.delivery), "base": number(report.funnel.sent)},
        ),
        (gettext("Open rate"), over_base(r.open)),
        (gettext("Click rate"), over_base(r.click)),
        (
            gettext("Click-to-open rate"),
            gettext("%(rate)s of opened (%(base)s)")
            % {"rate": percent(r.click_to_open), "base": number(report.funnel.opened)},
        ),
        (
            gettext("Bounce rate"),
            gettext("%(rate)s of attempted sends") % {"rate": percent(r.bounce)},
        ),
        (gettext("Complaint rate"), over_base(r.complaint)),
        (gettext("Unsubscribe rate"), over_base(r.unsubscribe)),
        (gettext("Conversion rate"), over_base(r.conversion)),
    ]


def count_lines(report: Report) -> list[tuple[str, str]]:
    """The counts beside the rates, in words."""
    b = report.bounces
    return [
        (
            gettext("Opens"),
            gettext("%(unique)s unique, %(total)s in all")
            % {"unique": number(report.opens_unique), "total": number(report.opens_total)},
        ),
        (
            gettext("Clicks"),
            gettext("%(unique)s unique, %(total)s in all")
            % {"unique": number(report.clicks_unique), "total": number(report.clicks_total)},
        ),
        (gettext("Machine opens"), number(report.machine_opens)),
        (
            gettext("Bounces"),
            gettext(
                "%(total)s (%(permanent)s permanent, %(rejected)s refused at send time); "
                "%(transient)s transient, not counted"
            )
            % {
                "total": number(b.total),
                "permanent": number(b.permanent),
                "rejected": number(b.rejected),
                "transient": number(b.transient),
            },
        ),
        (gettext("Complaints"), number(report.complaints)),
        (gettext("Unsubscribes"), number(report.unsubscribes)),
        (gettext("Failed"), number(report.failed)),
        (gettext("Conversions"), number(report.conversions)),
        (gettext("Revenue"), number(report.revenue, 2)),
    ]


def report_context(report: Report) -> dict[str, Any]:
    """What ``_report.html`` draws for a campaign, a step or a sequence's totals."""
    return {
        "report": report,
        "rates": rate_lines(report),
        "counts": count_lines(report),
        "funnel_chart": funnel_svg(report.funnel),
        "timeline_chart": timeline_svg(report.timeline),
        "links_chart": links_svg(report.top_links),
    }


# --- the overview's form ----------------------------------------------------------------------


class OverviewForm(forms.Form):
    days = forms.IntegerField(
        label=_("Days"),
        min_value=1,
        max_value=MAX_OVERVIEW_DAYS,
        required=False,
        help_text=_("The period, in days up to today (1 to 365)."),
    )

    def period(self) -> int:
        if self.is_valid() and self.cleaned_data["days"]:
            return int(self.cleaned_data["days"])
        return DEFAULT_DAYS


# --- the pages --------------------------------------------------------------------------------


def _page(
    model_admin: admin.ModelAdmin[Any],
    request: HttpRequest,
    template: str,
    title: str,
    **context: Any,
) -> TemplateResponse:
    return TemplateResponse(
        request,
        template,
        {
            **model_admin.admin_site.each_context(request),
            "opts": model_admin.model._meta,
            "title": title,
            **context,
        },
    )


def _viewable(model_admin: admin.ModelAdmin[Any], request: HttpRequest, object_id: str) -> Any:
    """The object, if the user may view this model (403 otherwise) and it exists (404)."""
    if not model_admin.has_view_permission(request):
        raise PermissionDenied
    obj = model_admin.get_object(request, unquote(object_id))
    if obj is None:
        raise Http404(gettext("There is no such object."))
    if not model_admin.has_view_permission(request, obj):
        raise PermissionDenied  # pragma: no cover - object-level permissions of a host
    return obj


class CampaignReportMixin(admin.ModelAdmin):
    """The campaign admin's report page, the account overview, the "Report" list column and
    the change page's progress and A/B result in words."""

    def get_urls(self) -> list[URLPattern]:
        info = self.opts.app_label, self.opts.model_name
        wrap = self.admin_site.admin_view
        return [
            path(
                "overview/",
                wrap(self.overview_view),
                name=f"{self.opts.app_label}_overview",
            ),
            path(
                "<path:object_id>/report/",
                wrap(self.report_view),
                name="{}_{}_report".format(*info),
            ),
            *super().get_urls(),
        ]

    def report_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        campaign = _viewable(self, request, object_id)
        report = campaign_report(campaign)
        return _page(
            self,
            request,
            "admin/django_petmail/report_campaign.html",
            gettext("Report: %(name)s") % {"name": campaign.name},
            original=campaign,
            progress_words=progress_words(report.progress),
            ab_words=ab_words(report.ab) if report.ab else "",
            ab_chart=ab_svg(report.ab) if report.ab else "",
            **report_context(report),
        )

    def overview_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        form = OverviewForm(request.GET or None, initial={"days": DEFAULT_DAYS})
        found = overview(form.period())
        top = [
            (
                summary,
                reverse(
                    f"{self.admin_site.name}:{self.opts.app_label}_{self.opts.model_name}_report",
                    args=[summary.id],
                ),
                gettext("%(rate)s of sent") % {"rate": percent(summary.open_rate)},
                gettext("%(rate)s of sent") % {"rate": percent(summary.click_rate)},
            )
            for summary in found.top_campaigns
        ]
        return _page(
            self,
            request,
            "admin/django_petmail/report_overview.html",
            gettext("Email overview: the last %(days)s days") % {"days": number(found.days)},
            form=form,
            overview=found,
            totals=_overview_lines(found),
            reputation=_reputation(found),
            daily_chart=daily_svg(found.daily),
            top_campaigns=top,
        )

    @admin.display(description=_("Report"))
    def report_link(self, obj: EmailCampaign) -> SafeString:
        url = reverse(
            f"{self.admin_site.name}:{self.opts.app_label}_{self.opts.model_name}_report",
            args=[obj.pk],
        )
        return format_html('<a href="{}">{}</a>', url, gettext("Report"))

    def _report_of(self, obj: EmailCampaign) -> Report:
        """The change page's report, built once for its two read-only fields."""
        report: Report | None = getattr(obj, "_petmail_report", None)
        if report is None:
            report = campaign_report(obj)
            obj._petmail_report = report  # type: ignore[attr-defined]
        return report

    @admin.display(description=_("Progress"))
    def progress(self, obj: EmailCampaign) -> str:
        return progress_words(self._report_of(obj).progress)

    @admin.display(description=_("A/B result"))
    def ab_result_words(self, obj: EmailCampaign) -> str:
        if not obj.is_ab_test:
            return gettext("Not an A/B test.")
        ab = self._report_of(obj).ab
        return ab_words(ab) if ab else "—"


def _overview_lines(found: Any) -> list[tuple[str, str]]:
    return [
        (gettext("Sent"), number(found.sent)),
        (gettext("Delivered"), number(found.delivered)),
        (gettext("Opened (unique)"), number(found.opens)),
        (gettext("Clicked (unique)"), number(found.clicks)),
        (gettext("Bounces"), number(found.bounces)),
        (gettext("Complaints"), number(found.complaints)),
        (gettext("Unsubscribes"), number(found.unsubscribes)),
        (gettext("Conversions"), number(found.conversions)),
        (gettext("Revenue"), number(found.revenue, 2)),
    ]


def _reputation(found: Any) -> list[dict[str, Any]]:
    """The bounce and complaint rates against the thresholds Amazon SES reviews at."""
    return [
        {
            "name": gettext("Bounce rate"),
            "rate": gettext("%(rate)s of attempted sends") % {"rate": percent(found.bounce_rate)},
            "threshold": percent(found.bounce_threshold),
            "alert": found.bounce_alert,
            "value": found.bounce_rate,
        },
        {
            "name": gettext("Complaint rate"),
            "rate": gettext("%(rate)s of sent") % {"rate": number(found.complaint_rate, 2) + " %"},
            "threshold": number(found.complaint_threshold, 1) + " %",
            "alert": found.complaint_alert,
            "value": found.complaint_rate,
        },
    ]


class SequenceReportMixin(admin.ModelAdmin):
    """The sequence admin's report page and its "Report" list column."""

    def get_urls(self) -> list[URLPattern]:
        info = self.opts.app_label, self.opts.model_name
        return [
            path(
                "<path:object_id>/report/",
                self.admin_site.admin_view(self.report_view),
                name="{}_{}_report".format(*info),
            ),
            *super().get_urls(),
        ]

    def report_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        sequence = _viewable(self, request, object_id)
        found = sequence_report(sequence)
        e = found.enrollments
        return _page(
            self,
            request,
            "admin/django_petmail/report_sequence.html",
            gettext("Report: %(name)s") % {"name": sequence.name},
            original=sequence,
            sequence_report=found,
            enrollments=[
                (gettext("Active"), number(e.active)),
                (gettext("Paused"), number(e.paused)),
                (gettext("Completed"), number(e.completed)),
                (gettext("Converted"), number(e.converted)),
                (gettext("Cancelled"), number(e.cancelled)),
                (gettext("Total"), number(e.total)),
            ],
            totals=report_context(found.totals),
            steps=[report_context(step) for step in found.steps],
        )

    @admin.display(description=_("Report"))
    def report_link(self, obj: Any) -> SafeString:
        url = reverse(
            f"{self.admin_site.name}:{self.opts.app_label}_{self.opts.model_name}_report",
            args=[obj.pk],
        )
        return format_html('<a href="{}">{}</a>', url, gettext("Report"))


# The admin index links to the overview, unless the host chose its own index template.
if admin.site.index_template is None:
    admin.site.index_template = "admin/django_petmail/index.html"
