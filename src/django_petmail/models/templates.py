"""Reusable email templates."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class TemplateType(models.TextChoices):
    CAMPAIGN = "campaign", _("Campaña")
    TRANSACTIONAL = "transactional", _("Transaccional")
    AUTOMATED = "automated", _("Automatizado")


DEFAULT_TOKENS = [
    "{{ first_name }}",
    "{{ owner_name }}",
    "{{ owner_full_name }}",
    "{{ pet_name }}",
    "{{ pet_names }}",
    "{{ unsubscribe_url }}",
    "{{ preferences_url }}",
    "{{ view_online_url }}",
]


def default_tokens() -> list[str]:
    return list(DEFAULT_TOKENS)


class EmailTemplate(models.Model):
    """Layout and default content a campaign or sequence step starts from."""

    name = models.CharField(_("nombre"), max_length=200)
    slug = models.SlugField(_("slug"), unique=True)
    description = models.TextField(_("descripción"), blank=True)
    template_type = models.CharField(
        _("tipo"), max_length=20, choices=TemplateType.choices, default=TemplateType.CAMPAIGN
    )

    subject = models.CharField(_("asunto"), max_length=200)
    preview_text = models.CharField(_("texto de vista previa"), max_length=200, blank=True)
    html_content = models.TextField(_("contenido HTML"))
    text_content = models.TextField(_("contenido de texto"), blank=True)

    header_image = models.ImageField(
        _("imagen de cabecera"), upload_to="petmail/headers/", null=True, blank=True
    )
    footer_html = models.TextField(_("pie HTML"), blank=True)
    available_tokens = models.JSONField(_("variables disponibles"), default=default_tokens)

    is_active = models.BooleanField(_("activa"), default=True)
    created_at = models.DateTimeField(_("creada el"), auto_now_add=True)
    updated_at = models.DateTimeField(_("actualizada el"), auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("plantilla de email")
        verbose_name_plural = _("plantillas de email")

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        """Every part must compile in the sandboxed engine (no include, calls, or '_')."""
        from django.core.exceptions import ValidationError

        from ..rendering.sandbox import template_field_errors

        errors = template_field_errors(
            self,
            {
                "subject": False,
                "preview_text": False,
                "html_content": True,
                "text_content": False,
                "footer_html": True,
            },
        )
        if errors:
            raise ValidationError(errors)
