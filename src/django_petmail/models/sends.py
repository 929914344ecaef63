"""The send ledger (one row per recipient per campaign or sequence step) and its events."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from ..conf import owner_model_label
from .campaigns import ABVariant, EmailCampaign
from .subscriptions import NewsletterSubscription


class SendStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    DELIVERED = "delivered", _("Delivered")
    OPENED = "opened", _("Opened")
    CLICKED = "clicked", _("Clicked")
    BOUNCED = "bounced", _("Bounced")
    COMPLAINED = "complained", _("Spam")
    UNSUBSCRIBED = "unsubscribed", _("Unsubscribed")
    FAILED = "failed", _("Failed")
    UNKNOWN = "unknown", _("Unknown")
    CANCELLED = "cancelled", _("Cancelled")
    SKIPPED = "skipped", _("Skipped")
    HELD = "held", _("Held (A/B)")


#: Engagement order: a send only moves forward along it (events may arrive out of order).
SEND_PROGRESS: tuple[str, ...] = (
    SendStatus.PENDING,
    SendStatus.SENDING,
    SendStatus.SENT,
    SendStatus.DELIVERED,
    SendStatus.OPENED,
    SendStatus.CLICKED,
)
#: Waiting to be claimed: ``pending``, or ``held`` back for an A/B winner.
SEND_WAITING: tuple[str, ...] = (SendStatus.PENDING, SendStatus.HELD)
#: Not finished: waiting, or claimed by a worker (in flight). A mailing with any of these
#: is still going out.
SEND_UNFINISHED: tuple[str, ...] = (*SEND_WAITING, SendStatus.SENDING)
#: Accepted by the ESP (and possibly engaged with since): the message reached the reader's
#: side. What "received" means for segments, A/B results and reports.
SEND_ACCEPTED: tuple[str, ...] = SEND_PROGRESS[SEND_PROGRESS.index(SendStatus.SENT) :]
#: What counts against a subscriber's frequency cap: accepted, or leaving right now.
SEND_COUNTS_AGAINST_CAP: tuple[str, ...] = (SendStatus.SENDING, *SEND_ACCEPTED)

#: Terminal states win over any engagement state.
SEND_TERMINAL: frozenset[str] = frozenset(
    {
        SendStatus.BOUNCED,
        SendStatus.COMPLAINED,
        SendStatus.UNSUBSCRIBED,
        SendStatus.FAILED,
        SendStatus.CANCELLED,
        SendStatus.SKIPPED,
    }
)


class BounceType(models.TextChoices):
    """What ``bounce_type`` holds on a send and its bounce event: the ESP's own word (Amazon
    SES's ``bounceType``, kept as it comes), except for ``rejected`` and ``suppressed``.

    ``rejected``: the ESP refused the recipient at send time (a permanent bounce before any
    message left).

    ``suppressed``: the ESP refused the message because the address is on its suppression
    list (SES ``bounceSubType`` ``OnAccountSuppressionList`` or ``Suppressed``). The send
    ends as bounced and the address is stopped, but the mailing's ``bounce_count`` is not
    moved and reports leave these out of bounce rates: no message was attempted, and SES
    does not count them against the account either.
    """

    PERMANENT = "Permanent", _("Permanent")
    TRANSIENT = "Transient", _("Transient")
    UNDETERMINED = "Undetermined", _("Undetermined")
    SUPPRESSED = "suppressed", _("Suppressed by the ESP")
    REJECTED = "rejected", _("Refused at send time")


class EmailSend(models.Model):
    """One message to one recipient: the unit that is claimed, sent and tracked."""

    campaign = models.ForeignKey(
        EmailCampaign,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="sends",
        verbose_name=_("campaign"),
        db_index=False,  # led by a composite index below
    )
    sequence_step = models.ForeignKey(
        "django_petmail.SequenceStep",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="sends",
        verbose_name=_("sequence step"),
        db_index=False,  # led by a composite index below
    )
    enrollment = models.ForeignKey(
        "django_petmail.SequenceEnrollment",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="sends",
        verbose_name=_("enrollment"),
    )

    subscription = models.ForeignKey(
        NewsletterSubscription,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="email_sends",
        verbose_name=_("subscription"),
        db_index=False,  # led by a composite index below
    )
    owner = models.ForeignKey(
        owner_model_label(),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="email_sends",
        verbose_name=_("owner"),
    )
    email_address = models.EmailField(_("address"))

    status = models.CharField(
        _("status"), max_length=20, choices=SendStatus.choices, default=SendStatus.PENDING
    )
    ab_variant = models.CharField(_("variant"), max_length=1, choices=ABVariant.choices, blank=True)

    # Claiming (pending → sending by exactly one worker)
    claimed_at = models.DateTimeField(_("claimed at"), null=True, blank=True)
    claimed_by = models.CharField(_("claimed by"), max_length=200, blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)

    esp_message_id = models.CharField(_("ESP message ID"), max_length=255, blank=True)

    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    opened_at = models.DateTimeField(_("opened at"), null=True, blank=True)
    clicked_at = models.DateTimeField(_("clicked at"), null=True, blank=True)
    bounced_at = models.DateTimeField(_("bounced at"), null=True, blank=True)

    error_message = models.TextField(_("error"), blank=True)
    bounce_type = models.CharField(_("bounce type"), max_length=50, blank=True)

    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("send")
        verbose_name_plural = _("sends")
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "subscription"], name="petmail_unique_campaign_send"
            ),
            models.UniqueConstraint(
                fields=["sequence_step", "enrollment"], name="petmail_unique_step_send"
            ),
        ]
        indexes = [
            models.Index(fields=["campaign", "status"], name="petmail_send_campaign_status"),
            models.Index(fields=["sequence_step", "status"], name="petmail_send_step_status"),
            models.Index(
                fields=["esp_message_id"],
                condition=~Q(esp_message_id=""),
                name="petmail_send_esp_msgid_idx",
            ),
            models.Index(
                fields=["claimed_at"],
                condition=Q(status="sending"),
                name="petmail_send_inflight_idx",
            ),
            models.Index(fields=["subscription", "sent_at"], name="petmail_send_sub_sent_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.email_address} [{self.status}]"

    def mailing_rows(self) -> models.QuerySet[Any]:
        """The row whose counters this send moves: its campaign, or its sequence step."""
        if self.campaign_id:
            return EmailCampaign.objects.filter(pk=self.campaign_id)
        step_model = self._meta.get_field("sequence_step").related_model
        return step_model._default_manager.filter(pk=self.sequence_step_id)  # type: ignore[union-attr]


class EventType(models.TextChoices):
    SEND = "send", _("Sent")
    DELIVERY = "delivery", _("Delivered")
    OPEN = "open", _("Opened")
    CLICK = "click", _("Clicked")
    BOUNCE = "bounce", _("Bounce")
    COMPLAINT = "complaint", _("Complaint")
    UNSUBSCRIBE = "unsubscribe", pgettext_lazy("noun", "Unsubscribe")
    DEFERRED = "deferred", _("Deferred")
    REJECTED = "rejected", _("Rejected")
    FAILED = "failed", _("Failed")


class EmailEvent(models.Model):
    """Something that happened to a send (from the ESP's webhook or first-party tracking).

    ``esp_event_id`` is unique so a webhook delivered twice is stored once; first-party events
    leave it ``NULL`` (NULLs never collide).
    """

    send = models.ForeignKey(
        EmailSend, on_delete=models.CASCADE, related_name="events", verbose_name=_("send")
    )
    event_type = models.CharField(_("type"), max_length=20, choices=EventType.choices)
    esp_event_id = models.CharField(
        _("ESP event ID"), max_length=255, null=True, blank=True, unique=True
    )

    link_url = models.URLField(_("link"), max_length=2000, blank=True)
    link_tag = models.CharField(_("link tag"), max_length=100, blank=True)
    user_agent = models.CharField(_("user agent"), max_length=500, blank=True)
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    is_machine = models.BooleanField(
        _("machine"),
        default=False,
        help_text=_(
            "An open or click made by a mail privacy proxy or a link scanner, not by a "
            "person: stored, but not counted."
        ),
    )
    bounce_type = models.CharField(_("bounce type"), max_length=50, blank=True)
    description = models.TextField(_("description"), blank=True)

    occurred_at = models.DateTimeField(_("occurred at"), null=True, blank=True)
    timestamp = models.DateTimeField(_("recorded at"), auto_now_add=True)

    class Meta:
        ordering = ["-timestamp"]
        verbose_name = _("email event")
        verbose_name_plural = _("email events")
        indexes = [
            models.Index(fields=["send", "event_type"], name="petmail_event_send_type_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_event_type_display()} ({self.send_id})"
