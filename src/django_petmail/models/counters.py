"""Results counters shared by everything that is sent: a campaign, or a sequence step.

The sending pipeline and tracking only ever change them with atomic ``F()`` updates (or
recompute them from the send ledger); staff and API clients never write them.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class SendCounters(models.Model):
    """Abstract: the counters of one mailing (the campaign, or the step, that owns sends)."""

    sent_count = models.IntegerField(_("sent"), default=0)
    delivered_count = models.IntegerField(_("delivered"), default=0)
    open_count = models.IntegerField(_("opens"), default=0)
    click_count = models.IntegerField(_("clicks"), default=0)
    bounce_count = models.IntegerField(_("bounces"), default=0)
    unsubscribe_count = models.IntegerField(_("unsubscribes"), default=0)
    complaint_count = models.IntegerField(_("complaints"), default=0)
    failed_count = models.IntegerField(_("failed"), default=0)
    conversion_count = models.IntegerField(_("conversions"), default=0)
    revenue_attributed = models.DecimalField(
        _("attributed revenue"), max_digits=12, decimal_places=2, default=0
    )

    class Meta:
        abstract = True

    @property
    def rate_base(self) -> int:
        """What rates divide by: deliveries where the ESP reports them, else sends (SMTP and
        ESPs without delivery events), as the reports do (``analytics.reports.Rates``)."""
        return self.delivered_count or self.sent_count

    @property
    def open_rate(self) -> float:
        """Unique opens, in percent of :attr:`rate_base` (0.0 before anything was sent)."""
        base = self.rate_base
        return self.open_count / base * 100 if base else 0.0

    @property
    def click_rate(self) -> float:
        """Unique clicks, in percent of :attr:`rate_base` (0.0 before anything was sent)."""
        base = self.rate_base
        return self.click_count / base * 100 if base else 0.0


#: Results counters: written only by the sending pipeline and tracking, never by staff or API.
COUNTER_FIELDS: tuple[str, ...] = (
    "sent_count",
    "delivered_count",
    "open_count",
    "click_count",
    "bounce_count",
    "unsubscribe_count",
    "complaint_count",
    "failed_count",
    "conversion_count",
    "revenue_attributed",
)
