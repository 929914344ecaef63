"""Automated sequences (drip campaigns), their steps and enrollments."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from ..conf import owner_model_label
from .segments import CustomerSegment
from .subscriptions import NewsletterSubscription
from .templates import EmailTemplate


class TriggerType(models.TextChoices):
    SIGNUP = "signup", _("New subscription")
    PURCHASE = "purchase", _("Purchase made")
    APPOINTMENT = "appointment", _("Appointment completed")
    ABANDONED_CART = "abandoned_cart", _("Abandoned cart")
    INACTIVITY = "inactivity", _("Inactivity")
    BIRTHDAY = "birthday", _("Pet birthday")
    VACCINATION_DUE = "vaccination_due", _("Vaccination due")
    CUSTOM = "custom", _("Custom event")


class AutomatedSequence(models.Model):
    """A series of timed emails started by a trigger."""

    name = models.CharField(_("name"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    trigger_type = models.CharField(_("trigger"), max_length=20, choices=TriggerType.choices)
    custom_trigger = models.CharField(
        _("custom trigger"),
        max_length=100,
        blank=True,
        help_text=_("Name registered with register_trigger() when the trigger is “Custom event”."),
    )
    trigger_conditions = models.JSONField(_("conditions"), default=dict, blank=True)
    segment = models.ForeignKey(
        CustomerSegment,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="sequences",
        verbose_name=_("segment"),
    )
    is_marketing = models.BooleanField(
        _("marketing"),
        default=True,
        help_text=_("Marketing sequences are cancelled when the subscriber unsubscribes."),
    )
    is_active = models.BooleanField(pgettext_lazy("automated sequence", "active"), default=True)
    created_at = models.DateTimeField(
        pgettext_lazy("automated sequence", "created at"), auto_now_add=True
    )

    class Meta:
        ordering = ["name"]
        verbose_name = _("automated sequence")
        verbose_name_plural = _("automated sequences")

    def __str__(self) -> str:
        return self.name


class SequenceStep(models.Model):
    """One email of a sequence, sent a delay after the previous step."""

    sequence = models.ForeignKey(
        AutomatedSequence,
        on_delete=models.CASCADE,
        related_name="steps",
        verbose_name=_("sequence"),
    )
    step_number = models.PositiveIntegerField(_("step number"))
    delay_days = models.PositiveIntegerField(_("delay (days)"), default=0)
    delay_hours = models.PositiveIntegerField(_("delay (hours)"), default=0)
    send_time = models.TimeField(_("preferred time"), null=True, blank=True)

    template = models.ForeignKey(
        EmailTemplate,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="sequence_steps",
        verbose_name=_("template"),
    )
    subject = models.CharField(_("subject"), max_length=200)
    preview_text = models.CharField(_("preview text"), max_length=200, blank=True)
    html_content = models.TextField(_("HTML content"))
    text_content = models.TextField(_("text content"), blank=True)

    skip_if = models.JSONField(_("skip if"), default=dict, blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["sequence", "step_number"]
        verbose_name = _("sequence step")
        verbose_name_plural = _("sequence steps")
        constraints = [
            models.UniqueConstraint(
                fields=["sequence", "step_number"], name="petmail_unique_step_number"
            )
        ]

    def __str__(self) -> str:
        return f"{self.sequence} #{self.step_number}"

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        from ..rendering.sandbox import template_field_errors

        errors = template_field_errors(
            self,
            {"subject": False, "preview_text": False, "html_content": True, "text_content": False},
        )
        if errors:
            raise ValidationError(errors)


class EnrollmentStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    PAUSED = "paused", _("Paused")
    COMPLETED = "completed", _("Completed")
    CANCELLED = "cancelled", _("Cancelled")


class SequenceEnrollment(models.Model):
    """An owner's (or a bare subscriber's) progress through a sequence."""

    sequence = models.ForeignKey(
        AutomatedSequence,
        on_delete=models.CASCADE,
        related_name="enrollments",
        verbose_name=_("sequence"),
    )
    owner = models.ForeignKey(
        owner_model_label(),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="sequence_enrollments",
        verbose_name=_("owner"),
    )
    subscription = models.ForeignKey(
        NewsletterSubscription,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="sequence_enrollments",
        verbose_name=_("subscription"),
    )

    current_step = models.PositiveIntegerField(_("current step"), default=0)
    next_send_at = models.DateTimeField(_("next send"), null=True, blank=True)
    status = models.CharField(
        _("status"),
        max_length=20,
        choices=EnrollmentStatus.choices,
        default=EnrollmentStatus.ACTIVE,
    )
    context = models.JSONField(_("trigger context"), default=dict, blank=True)

    enrolled_at = models.DateTimeField(_("enrolled at"), auto_now_add=True)
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)
    cancelled_reason = models.CharField(_("cancellation reason"), max_length=255, blank=True)

    class Meta:
        ordering = ["-enrolled_at"]
        verbose_name = _("sequence enrollment")
        verbose_name_plural = _("sequence enrollments")
        constraints = [
            models.UniqueConstraint(
                fields=["sequence", "owner"], name="petmail_unique_enrollment_owner"
            ),
            models.UniqueConstraint(
                fields=["sequence", "subscription"], name="petmail_unique_enrollment_sub"
            ),
            models.CheckConstraint(
                condition=Q(owner__isnull=False) | Q(subscription__isnull=False),
                name="petmail_enrollment_has_recipient",
            ),
        ]
        indexes = [
            models.Index(
                fields=["next_send_at"],
                condition=Q(status="active"),
                name="petmail_enrollment_due_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.sequence} → {self.owner_id or self.subscription_id}"
