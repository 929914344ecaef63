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
    DRAFT = "draft", _("Borrador")
    SCHEDULED = "scheduled", _("Programado")
    SENDING = "sending", _("Enviando")
    PAUSED = "paused", _("Pausado")
    SENT = "sent", _("Enviado")
    CANCELLED = "cancelled", _("Cancelado")


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
    A = "A", _("Variante A")
    B = "B", _("Variante B")


class ABWinnerMetric(models.TextChoices):
    OPEN_RATE = "open_rate", _("Tasa de apertura")
    CLICK_RATE = "click_rate", _("Tasa de clics")


class EmailCampaign(SendCounters):
    """A one-off mailing to a segment (or to every active subscriber)."""

    name = models.CharField(_("nombre"), max_length=200)
    status = models.CharField(
        _("estado"), max_length=20, choices=CampaignStatus.choices, default=CampaignStatus.DRAFT
    )

    # Content
    template = models.ForeignKey(
        EmailTemplate,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="campaigns",
        verbose_name=_("plantilla"),
    )
    subject = models.CharField(_("asunto"), max_length=200)
    preview_text = models.CharField(_("texto de vista previa"), max_length=200, blank=True)
    html_content = models.TextField(_("contenido HTML"))
    text_content = models.TextField(_("contenido de texto"), blank=True)
    from_email = models.CharField(_("remitente"), max_length=254, blank=True)

    # Targeting and preferences
    segment = models.ForeignKey(
        CustomerSegment,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="campaigns",
        verbose_name=_("segmento"),
    )
    topic = models.CharField(_("tema"), max_length=50, blank=True)
    is_important = models.BooleanField(
        _("importante"),
        default=False,
        help_text=_("Los suscriptores con frecuencia «Solo importantes» solo reciben estas."),
    )
    recipient_count = models.IntegerField(_("destinatarios"), default=0)

    # Scheduling
    scheduled_at = models.DateTimeField(_("programado para"), null=True, blank=True)
    started_at = models.DateTimeField(_("iniciado el"), null=True, blank=True)
    completed_at = models.DateTimeField(_("completado el"), null=True, blank=True)

    # A/B testing
    is_ab_test = models.BooleanField(_("prueba A/B"), default=False)
    ab_subject_b = models.CharField(_("asunto B"), max_length=200, blank=True)
    ab_html_content_b = models.TextField(_("contenido HTML B"), blank=True)
    ab_test_percent = models.PositiveSmallIntegerField(_("porcentaje de prueba"), default=20)
    ab_winner_metric = models.CharField(
        _("métrica ganadora"),
        max_length=20,
        choices=ABWinnerMetric.choices,
        default=ABWinnerMetric.OPEN_RATE,
    )
    ab_wait_hours = models.PositiveIntegerField(_("espera (horas)"), default=4)
    ab_winner = models.CharField(_("ganadora"), max_length=1, choices=ABVariant.choices, blank=True)
    ab_decided_at = models.DateTimeField(_("decidida el"), null=True, blank=True)
    ab_result = models.JSONField(_("resultado A/B"), default=dict, blank=True)

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("creado por"),
    )
    created_at = models.DateTimeField(_("creado el"), auto_now_add=True)
    updated_at = models.DateTimeField(_("actualizado el"), auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("campaña")
        verbose_name_plural = _("campañas")
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

    def clean(self) -> None:
        """Templates must compile in the sandbox and the segment's rules must be valid;
        errors are reported on the field that holds the problem."""
        from django.core.exceptions import ValidationError

        from ..campaigns import content_errors

        errors = content_errors(self)
        if errors:
            raise ValidationError(errors)

    def can_transition_to(self, target: str) -> bool:
        return target in CAMPAIGN_TRANSITIONS.get(self.status, frozenset())
