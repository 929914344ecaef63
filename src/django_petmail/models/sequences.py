"""Automated sequences (drip campaigns), their steps and enrollments."""

from __future__ import annotations

from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from ..conf import owner_model_label
from ..rendering.sandbox import template_field_errors
from ..sequences.registry import sequence_errors, skip_condition_errors
from .counters import SendCounters
from .segments import CustomerSegment
from .sends import SEND_WAITING, EmailSend, SendStatus
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


class ReentryPolicy(models.TextChoices):
    """May a recipient go through the sequence again when the trigger fires again?"""

    NEVER = "never", _("Never")
    AFTER_COMPLETION = "after_completion", _("After completing it")
    ALWAYS = "always", _("Always (restarts the sequence)")


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
    goal_trigger = models.CharField(
        _("goal"),
        max_length=100,
        blank=True,
        help_text=_(
            "Event trigger that meets the goal (e.g. “purchase”): the enrollment ends as converted."
        ),
    )
    reentry = models.CharField(
        _("re-entry"),
        max_length=20,
        choices=ReentryPolicy.choices,
        default=ReentryPolicy.NEVER,
    )
    reentry_cooldown_days = models.PositiveIntegerField(
        _("re-entry wait (days)"),
        default=0,
        help_text=_(
            "With re-entry: not again until this many days after the last entry (0: no wait). "
            "Use it with scheduled triggers, which find the same people on every run."
        ),
    )
    topic = models.CharField(
        _("topic"),
        max_length=50,
        blank=True,
        help_text=_(
            "Marketing sequences only: subscribers who did not choose the topic do not get it."
        ),
    )
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
    paused_reason = models.TextField(
        _("pause reason"),
        blank=True,
        help_text=_("Why the sequence was stopped (e.g. a failing condition)."),
    )
    created_at = models.DateTimeField(
        pgettext_lazy("automated sequence", "created at"), auto_now_add=True
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("automated sequence")
        verbose_name_plural = _("automated sequences")

    def __str__(self) -> str:
        return self.name

    @property
    def trigger_name(self) -> str:
        """The registered trigger this sequence listens to."""
        if self.trigger_type == TriggerType.CUSTOM:
            return self.custom_trigger
        return str(self.trigger_type)

    def clean(self) -> None:
        errors = sequence_errors(self)
        if errors:
            raise ValidationError(errors)


class SequenceStep(SendCounters):
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

    goal_count = models.IntegerField(
        _("goals reached"),
        default=0,
        help_text=_(
            "Enrollments that reached the sequence's goal with this as the last step they got "
            "(revenue conversions are counted apart, in conversions)."
        ),
    )

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
        errors = template_field_errors(
            self,
            {"subject": False, "preview_text": False, "html_content": True, "text_content": False},
        )
        skip_problems = skip_condition_errors(self.skip_if)
        if skip_problems:
            errors.setdefault("skip_if", []).extend(skip_problems)
        if self.step_number is not None and self.step_number < 1:
            # current_step 0 means "no step yet": a step 0 would never be sent
            errors.setdefault("step_number", []).append("step numbers start at 1")
        if errors:
            raise ValidationError(errors)


#: What staff and API clients edit on a step (its counters belong to the pipeline).
STEP_FIELDS: tuple[str, ...] = (
    "step_number",
    "delay_days",
    "delay_hours",
    "send_time",
    "template",
    "subject",
    "preview_text",
    "html_content",
    "text_content",
    "skip_if",
    "is_active",
)


class EnrollmentStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    PAUSED = "paused", _("Paused")
    COMPLETED = "completed", _("Completed")
    CONVERTED = "converted", _("Converted")
    CANCELLED = "cancelled", _("Cancelled")


#: An enrollment that still runs (or may run again after a pause).
ENROLLMENT_RUNNING: tuple[str, ...] = (EnrollmentStatus.ACTIVE, EnrollmentStatus.PAUSED)


class EnrollmentQuerySet(models.QuerySet["SequenceEnrollment"]):
    def cancel(self, *, reason: str, now: datetime | None = None) -> int:
        """Cancel the running enrollments among these, and the step sends they still had
        waiting (a cancelled enrollment's send is never claimed). Two statements."""
        now = now or timezone.now()
        running = self.filter(status__in=ENROLLMENT_RUNNING)
        with transaction.atomic():
            ids = list(running.values_list("pk", flat=True))
            count = (
                type(self)(self.model)
                .filter(pk__in=ids, status__in=ENROLLMENT_RUNNING)
                .update(
                    status=EnrollmentStatus.CANCELLED, cancelled_reason=reason[:255], updated_at=now
                )
            )
            EmailSend.objects.filter(enrollment_id__in=ids, status__in=SEND_WAITING).update(
                status=SendStatus.CANCELLED, updated_at=now
            )
        return count


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

    cycle = models.PositiveIntegerField(
        _("cycle"), default=0, help_text=_("How many times the recipient entered before.")
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
    converted_at = models.DateTimeField(_("converted at"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    cancelled_reason = models.CharField(_("cancellation reason"), max_length=255, blank=True)

    objects = EnrollmentQuerySet.as_manager()

    class Meta:
        ordering = ["-enrolled_at"]
        verbose_name = _("sequence enrollment")
        verbose_name_plural = _("sequence enrollments")
        constraints = [
            models.UniqueConstraint(
                fields=["sequence", "owner", "cycle"], name="petmail_unique_enrollment_owner"
            ),
            models.UniqueConstraint(
                fields=["sequence", "subscription", "cycle"], name="petmail_unique_enrollment_sub"
            ),
            # whatever the re-entry policy, one running enrollment per subscriber
            models.UniqueConstraint(
                fields=["sequence", "subscription"],
                condition=Q(status__in=["active", "paused"]),
                name="petmail_one_running_enrollment",
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
