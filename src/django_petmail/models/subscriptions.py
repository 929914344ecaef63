"""Subscriptions, their consent ledger and the suppression list."""

from __future__ import annotations

import hashlib
from typing import Any

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from ..conf import owner_model_label, petmail_settings


def normalize_email(email: str) -> str:
    """Trim whitespace and lowercase the address so one inbox cannot be subscribed twice.

    RFC 5321 lets the local part be case-sensitive, but no mainstream mailbox provider treats
    it so, and a duplicate subscription costs more than that rare exception.
    """
    return (email or "").strip().lower()


def email_hash(email: str) -> str:
    """Stable digest of a normalized address, kept after erasure for suppression."""
    return hashlib.sha256(normalize_email(email).encode("utf-8")).hexdigest()


def default_language() -> str:
    """``PETMAIL["DEFAULT_LANGUAGE"]``, read when a subscription is created."""
    return petmail_settings.DEFAULT_LANGUAGE


class SubscriptionStatus(models.TextChoices):
    PENDING = "pending", _("Pending confirmation")
    ACTIVE = "active", _("Active")
    UNSUBSCRIBED = "unsubscribed", _("Unsubscribed")
    BOUNCED = "bounced", _("Bounced")
    COMPLAINED = "complained", _("Marked as spam")


class Frequency(models.TextChoices):
    WEEKLY = "weekly", _("Weekly")
    MONTHLY = "monthly", _("Monthly")
    IMPORTANT_ONLY = "important_only", _("Important only")


class SubscriptionSource(models.TextChoices):
    WEBSITE = "website", _("Website")
    CHECKOUT = "checkout", _("Checkout")
    APPOINTMENT = "appointment", _("Appointment")
    REFERRAL = "referral", _("Referral")
    IMPORT = "import", _("Import")
    ADMIN = "admin", _("Admin")
    API = "api", _("API")


class UnsubscribeSource(models.TextChoices):
    ONE_CLICK = "one_click", _("One click (RFC 8058)")
    PAGE = "page", _("Unsubscribe page")
    ESP_REPORT = "esp_report", _("Provider report")
    ADMIN = "admin", _("Admin")
    API = "api", _("API")


class NewsletterSubscription(models.Model):
    """One address's permission to receive marketing email, and its preferences."""

    owner = models.OneToOneField(
        owner_model_label(),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="newsletter",
        verbose_name=_("owner"),
    )
    email = models.EmailField(_("email"), unique=True)
    #: ``email_hash(email)``, kept in step by ``save()``: lets fan-out exclude suppressed
    #: addresses with a join instead of hashing in Python.
    email_hash = models.CharField(_("email hash"), max_length=64, editable=False, default="")
    first_name = models.CharField(_("name"), max_length=100, blank=True)

    status = models.CharField(
        _("status"),
        max_length=20,
        choices=SubscriptionStatus.choices,
        default=SubscriptionStatus.PENDING,
    )

    # Preferences
    frequency = models.CharField(
        _("frequency"), max_length=20, choices=Frequency.choices, default=Frequency.WEEKLY
    )
    topics = models.JSONField(_("topics"), default=list, blank=True)
    language = models.CharField(_("language"), max_length=8, default=default_language)
    timezone = models.CharField(_("time zone"), max_length=64, blank=True)
    is_paused = models.BooleanField(_("paused"), default=False)

    # Consent (the latest; the full history is ConsentEvent)
    confirmed_at = models.DateTimeField(_("confirmed at"), null=True, blank=True)
    source = models.CharField(
        _("source"), max_length=100, blank=True, choices=SubscriptionSource.choices
    )
    consent_form = models.CharField(_("consent form"), max_length=100, blank=True)
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    user_agent = models.CharField(_("user agent"), max_length=500, blank=True)

    subscribed_at = models.DateTimeField(_("subscribed at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    unsubscribed_at = models.DateTimeField(_("unsubscribed at"), null=True, blank=True)
    unsubscribe_reason = models.CharField(_("unsubscribe reason"), max_length=255, blank=True)
    unsubscribe_source = models.CharField(
        _("unsubscribe source"), max_length=20, blank=True, choices=UnsubscribeSource.choices
    )
    # Transient bounces since the window started (tracking's bounce policy; a delivery resets)
    soft_bounce_count = models.PositiveIntegerField(_("soft bounces"), default=0)
    soft_bounce_since = models.DateTimeField(_("soft bounces since"), null=True, blank=True)

    class Meta:
        ordering = ["-subscribed_at"]
        verbose_name = _("subscription")
        verbose_name_plural = _("subscriptions")
        indexes = [
            models.Index(
                fields=["subscribed_at"],
                condition=Q(status="active"),
                name="petmail_sub_active_idx",
            ),
            models.Index(fields=["status", "frequency"], name="petmail_sub_status_freq_idx"),
            models.Index(fields=["email_hash"], name="petmail_sub_email_hash_idx"),
        ]

    def __str__(self) -> str:
        return self.email

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.email = normalize_email(self.email)
        self.email_hash = email_hash(self.email)
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "email" in update_fields:
            kwargs["update_fields"] = {*update_fields, "email_hash"}
        super().save(*args, **kwargs)

    @property
    def is_mailable(self) -> bool:
        return self.status == SubscriptionStatus.ACTIVE and not self.is_paused


#: The subscriber's choices and the subscription's history: what the API shows, and where a
#: GDPR export starts.
SUBSCRIPTION_FIELDS: tuple[str, ...] = (
    "email",
    "first_name",
    "status",
    "frequency",
    "topics",
    "language",
    "is_paused",
    "source",
    "subscribed_at",
    "confirmed_at",
    "unsubscribed_at",
    "unsubscribe_reason",
    "unsubscribe_source",
)
#: Proof of consent and delivery details: exported to the subscriber on request, not shown by
#: the API.
SUBSCRIPTION_RECORD_FIELDS: tuple[str, ...] = (
    "timezone",
    "consent_form",
    "ip_address",
    "user_agent",
)


class ConsentEventType(models.TextChoices):
    SUBSCRIBED = "subscribed", _("Subscription requested")
    CONFIRMED = "confirmed", _("Subscription confirmed")
    PREFERENCES_CHANGED = "preferences_changed", _("Preferences changed")
    UNSUBSCRIBED = "unsubscribed", pgettext_lazy("noun", "Unsubscribe")
    ERASED = "erased", _("Data erased")


class ConsentEvent(models.Model):
    """Append-only ledger of what a subscriber agreed to, when and how.

    It is the clinic's legal proof of consent, so rows are never edited: ``save`` refuses to
    update an existing row and ``delete`` is refused outside GDPR erasure, which anonymizes.
    """

    subscription = models.ForeignKey(
        NewsletterSubscription,
        on_delete=models.SET_NULL,
        null=True,
        related_name="consent_events",
        verbose_name=_("subscription"),
    )
    event = models.CharField(_("event"), max_length=30, choices=ConsentEventType.choices)
    timestamp = models.DateTimeField(_("date"), auto_now_add=True, db_index=True)
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    user_agent = models.CharField(_("user agent"), max_length=500, blank=True)
    source = models.CharField(_("source"), max_length=100, blank=True)
    form = models.CharField(_("form"), max_length=100, blank=True)
    details = models.JSONField(_("details"), default=dict, blank=True)

    class Meta:
        ordering = ["timestamp", "pk"]
        verbose_name = _("consent event")
        verbose_name_plural = _("consent history")

    def __str__(self) -> str:
        return f"{self.get_event_display()} @ {self.timestamp:%Y-%m-%d %H:%M}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None and not kwargs.get("force_insert"):
            raise ValueError("Consent events are append-only; record a new event instead.")
        super().save(*args, **kwargs)


class SuppressionReason(models.TextChoices):
    UNSUBSCRIBED = "unsubscribed", pgettext_lazy("noun", "Unsubscribe")
    BOUNCED = "bounced", _("Hard bounce")
    COMPLAINED = "complained", _("Spam complaint")
    ERASED = "erased", _("Erased (GDPR)")
    MANUAL = "manual", _("Manual")


class Suppression(models.Model):
    """An address that must never be mailed again, kept only as a hash.

    A hash survives GDPR erasure: the address itself is gone, yet a later import or
    subscription of the same address is still recognised and refused.
    """

    email_hash = models.CharField(_("email hash"), max_length=64, unique=True)
    reason = models.CharField(_("reason"), max_length=20, choices=SuppressionReason.choices)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("suppression")
        verbose_name_plural = _("suppressions")

    def __str__(self) -> str:
        return f"{self.email_hash[:12]}… ({self.get_reason_display()})"

    @classmethod
    def is_suppressed(cls, email: str) -> bool:
        return cls.objects.filter(email_hash=email_hash(email)).exists()
