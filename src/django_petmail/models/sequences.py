"""Automated sequences (drip campaigns), their steps and enrollments."""

from __future__ import annotations

from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ..conf import owner_model_label
from ..sequences.registry import sequence_errors, skip_condition_errors
from .counters import SendCounters
from .segments import CustomerSegment
from .sends import SEND_WAITING, EmailSend, SendStatus
from .subscriptions import NewsletterSubscription
from .templates import EmailTemplate


class TriggerType(models.TextChoices):
    SIGNUP = "signup", _("Nueva suscripción")
    PURCHASE = "purchase", _("Compra realizada")
    APPOINTMENT = "appointment", _("Cita completada")
    ABANDONED_CART = "abandoned_cart", _("Carrito abandonado")
    INACTIVITY = "inactivity", _("Inactividad")
    BIRTHDAY = "birthday", _("Cumpleaños de la mascota")
    VACCINATION_DUE = "vaccination_due", _("Vacuna pendiente")
    CUSTOM = "custom", _("Evento personalizado")


class ReentryPolicy(models.TextChoices):
    """May a recipient go through the sequence again when the trigger fires again?"""

    NEVER = "never", _("Nunca")
    AFTER_COMPLETION = "after_completion", _("Tras terminarla")
    ALWAYS = "always", _("Siempre (reinicia la secuencia)")


class AutomatedSequence(models.Model):
    """A series of timed emails started by a trigger."""

    name = models.CharField(_("nombre"), max_length=200)
    description = models.TextField(_("descripción"), blank=True)
    trigger_type = models.CharField(_("disparador"), max_length=20, choices=TriggerType.choices)
    custom_trigger = models.CharField(
        _("disparador personalizado"),
        max_length=100,
        blank=True,
        help_text=_(
            "Nombre registrado con register_trigger() cuando el disparador es «Evento "
            "personalizado»."
        ),
    )
    trigger_conditions = models.JSONField(_("condiciones"), default=dict, blank=True)
    goal_trigger = models.CharField(
        _("objetivo"),
        max_length=100,
        blank=True,
        help_text=_(
            "Disparador de evento que cumple el objetivo (p. ej. «purchase»): la inscripción "
            "termina como convertida."
        ),
    )
    reentry = models.CharField(
        _("reingreso"),
        max_length=20,
        choices=ReentryPolicy.choices,
        default=ReentryPolicy.NEVER,
    )
    topic = models.CharField(
        _("tema"),
        max_length=50,
        blank=True,
        help_text=_("Solo para secuencias de marketing: quien no eligió el tema no la recibe."),
    )
    segment = models.ForeignKey(
        CustomerSegment,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="sequences",
        verbose_name=_("segmento"),
    )
    is_marketing = models.BooleanField(
        _("marketing"),
        default=True,
        help_text=_("Las secuencias de marketing se cancelan cuando el suscriptor se da de baja."),
    )
    is_active = models.BooleanField(_("activa"), default=True)
    paused_reason = models.TextField(
        _("motivo de la pausa"),
        blank=True,
        help_text=_("Por qué se detuvo la secuencia (p. ej. un error de una condición)."),
    )
    created_at = models.DateTimeField(_("creada el"), auto_now_add=True)
    updated_at = models.DateTimeField(_("actualizada el"), auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("secuencia automatizada")
        verbose_name_plural = _("secuencias automatizadas")

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
        verbose_name=_("secuencia"),
    )
    step_number = models.PositiveIntegerField(_("número de paso"))
    delay_days = models.PositiveIntegerField(_("retraso (días)"), default=0)
    delay_hours = models.PositiveIntegerField(_("retraso (horas)"), default=0)
    send_time = models.TimeField(_("hora preferida"), null=True, blank=True)

    template = models.ForeignKey(
        EmailTemplate,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="sequence_steps",
        verbose_name=_("plantilla"),
    )
    subject = models.CharField(_("asunto"), max_length=200)
    preview_text = models.CharField(_("texto de vista previa"), max_length=200, blank=True)
    html_content = models.TextField(_("contenido HTML"))
    text_content = models.TextField(_("contenido de texto"), blank=True)

    skip_if = models.JSONField(_("omitir si"), default=dict, blank=True)
    is_active = models.BooleanField(_("activo"), default=True)

    class Meta:
        ordering = ["sequence", "step_number"]
        verbose_name = _("paso de secuencia")
        verbose_name_plural = _("pasos de secuencia")
        constraints = [
            models.UniqueConstraint(
                fields=["sequence", "step_number"], name="petmail_unique_step_number"
            )
        ]

    def __str__(self) -> str:
        return f"{self.sequence} #{self.step_number}"

    def clean(self) -> None:
        from ..rendering.sandbox import template_field_errors  # rendering imports models

        errors = template_field_errors(
            self,
            {"subject": False, "preview_text": False, "html_content": True, "text_content": False},
        )
        skip_problems = skip_condition_errors(self.skip_if)
        if skip_problems:
            errors.setdefault("skip_if", []).extend(skip_problems)
        if errors:
            raise ValidationError(errors)


class EnrollmentStatus(models.TextChoices):
    ACTIVE = "active", _("Activo")
    PAUSED = "paused", _("Pausado")
    COMPLETED = "completed", _("Completado")
    CONVERTED = "converted", _("Convertido")
    CANCELLED = "cancelled", _("Cancelado")


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
        verbose_name=_("secuencia"),
    )
    owner = models.ForeignKey(
        owner_model_label(),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="sequence_enrollments",
        verbose_name=_("propietario"),
    )
    subscription = models.ForeignKey(
        NewsletterSubscription,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="sequence_enrollments",
        verbose_name=_("suscripción"),
    )

    cycle = models.PositiveIntegerField(
        _("vuelta"), default=0, help_text=_("Cuántas veces ha vuelto a entrar antes.")
    )
    current_step = models.PositiveIntegerField(_("paso actual"), default=0)
    next_send_at = models.DateTimeField(_("próximo envío"), null=True, blank=True)
    status = models.CharField(
        _("estado"),
        max_length=20,
        choices=EnrollmentStatus.choices,
        default=EnrollmentStatus.ACTIVE,
    )
    context = models.JSONField(_("contexto del disparador"), default=dict, blank=True)

    enrolled_at = models.DateTimeField(_("inscrito el"), auto_now_add=True)
    completed_at = models.DateTimeField(_("completado el"), null=True, blank=True)
    converted_at = models.DateTimeField(_("convertido el"), null=True, blank=True)
    updated_at = models.DateTimeField(_("actualizado el"), auto_now=True)
    cancelled_reason = models.CharField(_("motivo de cancelación"), max_length=255, blank=True)

    objects = EnrollmentQuerySet.as_manager()

    class Meta:
        ordering = ["-enrolled_at"]
        verbose_name = _("inscripción en secuencia")
        verbose_name_plural = _("inscripciones en secuencias")
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
