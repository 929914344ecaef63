"""Email campaigns: content, audience, schedule, A/B test and counters."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .counters import SendCounters
from .segments import CustomerSegment
from .templates import EmailTemplate


class CampaignStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SCHEDULED = "scheduled", _("Scheduled")
    SENDING = "sending", _("Sending")
    PAUSED = "paused", _("Paused")
    SENT = "sent", _("Sent")
    CANCELLED = "cancelled", _("Cancelled")


#: The campaign state machine: which states each state may move to.
CAMPAIGN_TRANSITIONS: dict[str, frozenset[str]] = {
    CampaignStatus.DRAFT: frozenset(
        {CampaignStatus.SCHEDULED, CampaignStatus.SENDING, CampaignStatus.CANCELLED}
    ),
    CampaignStatus.SCHEDULED: frozenset(
        {CampaignStatus.DRAFT, CampaignStatus.SENDING, CampaignStatus.CANCELLED}
    ),
    CampaignStatus.SENDING: frozenset({CampaignStatus.PAUSED, CampaignStatus.SENT}),
    CampaignStatus.PAUSED: frozenset({CampaignStatus.SENDING, CampaignStatus.CANCELLED}),
    CampaignStatus.SENT: frozenset(),
    CampaignStatus.CANCELLED: frozenset(),
}


#: The A/B test's settings (staff and API clients edit them until the campaign sends) and,
#: with its outcome, everything admin and API show about the test.
AB_SETTINGS: tuple[str, ...] = (
    "is_ab_test",
    "ab_subject_b",
    "ab_html_content_b",
    "ab_test_percent",
    "ab_winner_metric",
    "ab_wait_hours",
)
AB_FIELDS: tuple[str, ...] = (*AB_SETTINGS, "ab_winner", "ab_decided_at", "ab_result")


class ABVariant(models.TextChoices):
    A = "A", _("Variant A")
    B = "B", _("Variant B")


class ABWinnerMetric(models.TextChoices):
    OPEN_RATE = "open_rate", _("Open rate")
    CLICK_RATE = "click_rate", _("Click rate")


class EmailCampaign(SendCounters):
    """A one-off mailing to a segment (or to every active subscriber)."""

    name = models.CharField(_("name"), max_length=200)
    status = models.CharField(
        _("status"), max_length=20, choices=CampaignStatus.choices, default=CampaignStatus.DRAFT
    )

    # Content
    template = models.ForeignKey(
        EmailTemplate,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="campaigns",
        verbose_name=_("template"),
    )
    subject = models.CharField(_("subject"), max_length=200)
    preview_text = models.CharField(_("preview text"), max_length=200, blank=True)
    html_content = models.TextField(_("HTML content"))
    text_content = models.TextField(_("text content"), blank=True)
    from_email = models.CharField(_("sender"), max_length=254, blank=True)

    # Targeting and preferences
    segment = models.ForeignKey(
        CustomerSegment,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="campaigns",
        verbose_name=_("segment"),
    )
    topic = models.CharField(_("topic"), max_length=50, blank=True)
    is_important = models.BooleanField(
        _("important"),
        default=False,
        help_text=_("Subscribers with the “Important only” frequency only receive these."),
    )
    recipient_count = models.IntegerField(_("recipients"), default=0)

    # Scheduling
    scheduled_at = models.DateTimeField(_("scheduled for"), null=True, blank=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)
    paused_reason = models.TextField(
        _("pause reason"),
        blank=True,
        help_text=_("Why sending was paused automatically (e.g. the bounce rate)."),
    )

    # A/B testing
    is_ab_test = models.BooleanField(_("A/B test"), default=False)
    ab_subject_b = models.CharField(_("subject B"), max_length=200, blank=True)
    ab_html_content_b = models.TextField(_("HTML content B"), blank=True)
    ab_test_percent = models.PositiveSmallIntegerField(_("test percentage"), default=20)
    ab_winner_metric = models.CharField(
        _("winning metric"),
        max_length=20,
        choices=ABWinnerMetric.choices,
        default=ABWinnerMetric.OPEN_RATE,
    )
    ab_wait_hours = models.PositiveIntegerField(_("wait (hours)"), default=4)
    ab_winner = models.CharField(_("winner"), max_length=1, choices=ABVariant.choices, blank=True)
    ab_decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    ab_result = models.JSONField(_("A/B result"), default=dict, blank=True)

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("campaign")
        verbose_name_plural = _("campaigns")
        indexes = [
            models.Index(
                fields=["scheduled_at"],
                condition=Q(status="scheduled"),
                name="petmail_campaign_due_idx",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(ab_test_percent__gte=0, ab_test_percent__lte=100),
                name="petmail_campaign_ab_percent_range",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def can_transition_to(self, target: str) -> bool:
        return target in CAMPAIGN_TRANSITIONS.get(self.status, frozenset())
