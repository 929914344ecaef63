"""Automated sequences (drip campaigns), their steps and enrollments."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from ..conf import owner_model_label
from .segments import CustomerSegment
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
    created_at = models.DateTimeField(_("creada el"), auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("secuencia automatizada")
        verbose_name_plural = _("secuencias automatizadas")

    def __str__(self) -> str:
        return self.name


class SequenceStep(models.Model):
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
        from django.core.exceptions import ValidationError

        from ..rendering.sandbox import template_field_errors

        errors = template_field_errors(
            self,
            {"subject": False, "preview_text": False, "html_content": True, "text_content": False},
        )
        if errors:
            raise ValidationError(errors)


class EnrollmentStatus(models.TextChoices):
    ACTIVE = "active", _("Activo")
    PAUSED = "paused", _("Pausado")
    COMPLETED = "completed", _("Completado")
    CANCELLED = "cancelled", _("Cancelado")


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
    cancelled_reason = models.CharField(_("motivo de cancelación"), max_length=255, blank=True)

    class Meta:
        ordering = ["-enrolled_at"]
        verbose_name = _("inscripción en secuencia")
        verbose_name_plural = _("inscripciones en secuencias")
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
