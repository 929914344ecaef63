"""Conversions: revenue a host reports (an order), attributed to the email that led to it."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from ..conf import petmail_settings
from .sends import EmailSend
from .subscriptions import NewsletterSubscription

#: The amount field's shape; ``analytics.attribution`` checks amounts against it.
AMOUNT_MAX_DIGITS = 12
AMOUNT_DECIMAL_PLACES = 2
REFERENCE_MAX_LENGTH = 255


def default_currency() -> str:
    """``PETMAIL["CURRENCY"]``, read when the row is created (never copied at import)."""
    return petmail_settings.CURRENCY


class Conversion(models.Model):
    """One conversion (an order, a booking…), stored once per host ``reference``.

    ``send`` is the email it is attributed to (the subscriber's last click within the
    attribution window), ``NULL`` when none was found: such conversions count as unattributed
    revenue. A refund sets ``refunded_at``; the row is kept.
    """

    reference = models.CharField(_("reference"), max_length=REFERENCE_MAX_LENGTH, unique=True)
    subscription = models.ForeignKey(
        NewsletterSubscription,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="conversions",
        verbose_name=_("subscription"),
    )
    send = models.ForeignKey(
        EmailSend,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="conversions",
        verbose_name=_("attributed to"),
    )
    amount = models.DecimalField(
        _("amount"), max_digits=AMOUNT_MAX_DIGITS, decimal_places=AMOUNT_DECIMAL_PLACES
    )
    currency = models.CharField(_("currency"), max_length=3, default=default_currency)
    occurred_at = models.DateTimeField(_("occurred at"))
    refunded_at = models.DateTimeField(_("refunded at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["-occurred_at", "-pk"]
        verbose_name = _("conversion")
        verbose_name_plural = _("conversions")
        indexes = [
            models.Index(fields=["occurred_at"], name="petmail_conversion_when_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.reference} ({self.amount} {self.currency})"
