"""Reports from the command line: a campaign's, a sequence's (each step and the totals), a
step's, or the account overview, as readable tables, or as JSON with ``--json``.

    manage.py petmail_report campaign 12
    manage.py petmail_report sequence 3 --json
    manage.py petmail_report overview --days 7
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from django_petmail import analytics
from django_petmail.analytics import Overview, Report, SequenceReport
from django_petmail.models import AutomatedSequence, EmailCampaign, SequenceStep

_MAX_ID = 2**63 - 1


class Command(BaseCommand):
    help = "Print a campaign's, a sequence's or a step's report, or the account overview."

    def add_arguments(self, parser: CommandParser) -> None:
        common = CommandParser(add_help=False)
        common.add_argument("--json", action="store_true", help="Print the report as JSON.")
        sub = parser.add_subparsers(dest="report", required=True)
        for name, text in [
            ("campaign", "A campaign's report."),
            ("sequence", "A sequence's enrollments, each step's report and the totals."),
            ("step", "A sequence step's report."),
        ]:
            sub.add_parser(name, help=text, parents=[common]).add_argument(name, help="Its id.")
        over = sub.add_parser("overview", help="The account over the last days.", parents=[common])
        over.add_argument("--days", default="30", help="How many days back (1 to 365; 30).")

    def handle(self, *args: Any, **options: Any) -> None:
        kind = options["report"]
        result: Report | SequenceReport | Overview
        if kind == "campaign":
            result = analytics.campaign_report(self._get(EmailCampaign, "campaign", options))
        elif kind == "sequence":
            result = analytics.sequence_report(self._get(AutomatedSequence, "sequence", options))
        elif kind == "step":
            result = analytics.step_report(self._get(SequenceStep, "step", options))
        else:
            raw = str(options["days"])
            if not (raw.isdigit() and len(raw) <= 3 and 1 <= int(raw) <= 365):
                raise CommandError(f"--days: give a whole number from 1 to 365, not {raw!r}.")
            result = analytics.overview(days=int(raw))
        if options["json"]:
            self.stdout.write(json.dumps(result.as_dict(), indent=2, ensure_ascii=False))
        elif isinstance(result, Overview):
            self._overview(result)
        elif isinstance(result, SequenceReport):
            self._sequence(result)
        else:
            self._report(result)

    def _get(self, model: Any, name: str, options: dict[str, Any]) -> Any:
        raw = str(options[name])
        found = (
            model._default_manager.filter(pk=int(raw)).first()
            if raw.isdigit() and int(raw) <= _MAX_ID
            else None
        )
        if found is None:
            raise CommandError(f"{name}: no {name} with id {raw!r}.")
        return found

    # -- printing --------------------------------------------------------------------------

    def _line(self, text: str = "") -> None:
        self.stdout.write(text)

    def _table(self, headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        cells = [[str(h) for h in headers], *[[_cell(v) for v in row] for row in rows]]
        widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
        for n, row in enumerate(cells):
            self._line(
                "  "
                + "  ".join(
                    cell.ljust(widths[i]) if i == 0 else cell.rjust(widths[i])
                    for i, cell in enumerate(row)
                ).rstrip()
            )
            if n == 0:
                self._line("  " + "  ".join("-" * w for w in widths))

    def _report(self, report: Report, *, title: bool = True) -> None:
        if title:
            kinds = {"campaign": _("Campaign"), "step": _("Step"), "sequence": _("Sequence")}
            self._line(f"{kinds.get(report.kind, report.kind)} {report.id}: {report.name}")
            self._line(f"{_('Status')}: {report.status}")
        p = report.progress
        eta = p.eta.strftime("%Y-%m-%d %H:%M") if p.eta else "—"
        self._line(
            _(
                "Progress: %(done)s of %(recipients)s done (%(percent)s %%), %(remaining)s "
                "remaining, %(unknown)s in doubt; %(rate)s/s in the last minute, finish ≈ %(eta)s"
            )
            % {
                "done": p.done,
                "recipients": p.recipients,
                "percent": p.percent,
                "remaining": p.remaining,
                "unknown": p.unknown,
                "rate": p.rate_per_second,
                "eta": eta,
            }
        )
        f, r = report.funnel, report.rates
        base = _("delivered") if r.denominator == "delivered" else _("sent")
        self._line()
        self._line(_("Funnel (rates over %(base)s: %(n)s)") % {"base": base, "n": r.base})
        self._table(
            [_("stage"), _("sends"), _("rate")],
            [
                [_("recipients"), f.recipients, ""],
                [_("sent"), f.sent, ""],
                [_("delivered"), f.delivered, _pct(r.delivery) + " " + _("of sent")],
                [_("opened"), f.opened, _pct(r.open)],
                [_("clicked"), f.clicked, _pct(r.click)],
                [_("converted"), f.converted, _pct(r.conversion)],
            ],
        )
        b = report.bounces
        self._line()
        self._table(
            [_("engagement"), _("number"), _("rate")],
            [
                [_("opens (unique)"), report.opens_unique, _pct(r.open)],
                [_("opens (all events)"), report.opens_total, ""],
                [_("opens by machines"), report.machine_opens, ""],
                [_("clicks (unique)"), report.clicks_unique, _pct(r.click)],
                [_("clicks (all events)"), report.clicks_total, ""],
                [_("click-to-open"), "", _pct(r.click_to_open)],
                [_("bounces"), b.total, _pct(r.bounce) + " " + _("of attempted")],
                [_("  permanent"), b.permanent, ""],
                [_("  refused at send time"), b.rejected, ""],
                [_("  transient (not counted)"), b.transient, ""],
                [_("complaints"), report.complaints, _pct(r.complaint)],
                [_("unsubscribes"), report.unsubscribes, _pct(r.unsubscribe)],
                [_("failed"), report.failed, ""],
                [_("conversions"), report.conversions, _pct(r.conversion)],
                [_("revenue"), report.revenue, ""],
            ],
        )
        if report.ab is not None:
            ab = report.ab
            self._line()
            verdict = _("significant") if ab.significant else _("not significant")
            winner = ab.winner or _("not decided yet")
            self._line(
                _(
                    "A/B test on %(metric)s: p-value %(p)s (%(verdict)s at %(level)s %%); "
                    "winner: %(w)s"
                )
                % {
                    "metric": ab.metric_label,
                    "p": f"{ab.p_value:.4f}",
                    "verdict": verdict,
                    "level": f"{ab.confidence * 100:g}",
                    "w": winner,
                }
            )
            self._table(
                [
                    _("variant"),
                    _("sent"),
                    _("opened"),
                    _("clicked"),
                    _("open rate"),
                    _("click rate"),
                ],
                [
                    [v.label, v.sent, v.opened, v.clicked, _pct(v.open_rate), _pct(v.click_rate)]
                    for v in ab.variants
                ],
            )
        if report.top_links:
            self._line()
            self._line(_("Top links"))
            self._table(
                [_("link"), _("clicks"), _("unique clickers")],
                [[link.url, link.clicks, link.unique_clickers] for link in report.top_links],
            )
        active = [p for p in report.timeline if p.sent or p.opens or p.clicks]
        if active:
            self._line()
            self._line(_("Timeline (hours after the first send with activity, UTC)"))
            self._table(
                [_("hour"), _("starts"), _("sent"), _("opens"), _("clicks")],
                [
                    [p.hour, p.at.strftime("%Y-%m-%d %H:%M"), p.sent, p.opens, p.clicks]
                    for p in active
                ],
            )

    def _sequence(self, report: SequenceReport) -> None:
        self._line(f"{_('Sequence')} {report.id}: {report.name}")
        self._line(f"{_('Status')}: {report.status}")
        e = report.enrollments
        self._line()
        self._line(_("Enrollments"))
        self._table(
            [_("status"), _("enrollments")],
            [
                [_("active"), e.active],
                [_("paused"), e.paused],
                [_("completed"), e.completed],
                [_("converted"), e.converted],
                [_("cancelled"), e.cancelled],
                [_("total"), e.total],
            ],
        )
        self._line()
        self._line(_("Steps"))
        self._table(
            [_("step"), _("sent"), _("opened"), _("clicked"), _("open rate"), _("revenue")],
            [
                [
                    s.name,
                    s.funnel.sent,
                    s.funnel.opened,
                    s.funnel.clicked,
                    _pct(s.rates.open),
                    s.revenue,
                ]
                for s in report.steps
            ],
        )
        self._line()
        self._line(_("All steps"))
        self._report(report.totals, title=False)

    def _overview(self, o: Overview) -> None:
        self._line(
            _("The last %(days)s days (%(since)s to %(until)s)")
            % {
                "days": o.days,
                "since": o.since.strftime("%Y-%m-%d %H:%M"),
                "until": o.until.strftime("%Y-%m-%d %H:%M"),
            }
        )
        self._table(
            [_("measure"), _("number")],
            [
                [_("sent"), o.sent],
                [_("delivered"), o.delivered],
                [_("opens (unique)"), o.opens],
                [_("clicks (unique)"), o.clicks],
                [_("bounces"), o.bounces],
                [_("complaints"), o.complaints],
                [_("unsubscribes"), o.unsubscribes],
                [_("conversions"), o.conversions],
                [_("revenue"), o.revenue],
            ],
        )
        self._line()
        for name, rate, limit, alert in (
            (_("Bounce rate"), o.bounce_rate, o.bounce_threshold, o.bounce_alert),
            (_("Complaint rate"), o.complaint_rate, o.complaint_threshold, o.complaint_alert),
        ):
            words = _("AT OR OVER the review threshold") if alert else _("under the threshold")
            line = f"{name}: {_pct(rate)} ({words} {_pct(limit)})"
            self._line(self.style.ERROR(line) if alert else line)
        if o.top_campaigns:
            self._line()
            self._line(_("Top campaigns of the period"))
            self._table(
                [_("campaign"), _("sent"), _("open rate"), _("click rate"), _("revenue")],
                [
                    [
                        f"{c.name} ({c.status})",
                        c.sent,
                        _pct(c.open_rate),
                        _pct(c.click_rate),
                        c.revenue,
                    ]
                    for c in o.top_campaigns
                ],
            )
        busy = [d for d in o.daily if d.sent or d.opens or d.clicks or d.bounces or d.complaints]
        if busy:
            self._line()
            self._line(_("Days with activity"))
            self._table(
                [
                    _("day"),
                    _("sent"),
                    _("delivered"),
                    _("opens"),
                    _("clicks"),
                    _("bounces"),
                    _("complaints"),
                ],
                [
                    [
                        d.day.isoformat(),
                        d.sent,
                        d.delivered,
                        d.opens,
                        d.clicks,
                        d.bounces,
                        d.complaints,
                    ]
                    for d in busy
                ],
            )


def _pct(value: float) -> str:
    return f"{value:.2f} %"


def _cell(value: Any) -> str:
    return "" if value is None else str(value)
