"""Reusable email templates."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from ..rendering.sandbox import template_field_errors


class TemplateType(models.TextChoices):
    CAMPAIGN = "campaign", _("Campaign")
    TRANSACTIONAL = "transactional", _("Transactional")
    AUTOMATED = "automated", _("Automated")


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

    name = models.CharField(_("name"), max_length=200)
    slug = models.SlugField(_("slug"), unique=True)
    description = models.TextField(_("description"), blank=True)
    template_type = models.CharField(
        _("type"), max_length=20, choices=TemplateType.choices, default=TemplateType.CAMPAIGN
    )

    subject = models.CharField(_("subject"), max_length=200)
    preview_text = models.CharField(_("preview text"), max_length=200, blank=True)
    html_content = models.TextField(_("HTML content"))
    text_content = models.TextField(_("text content"), blank=True)

    header_image = models.ImageField(
        _("header image"), upload_to="petmail/headers/", null=True, blank=True
    )
    footer_html = models.TextField(_("HTML footer"), blank=True)
    available_tokens = models.JSONField(_("available variables"), default=default_tokens)

    is_active = models.BooleanField(pgettext_lazy("email template", "active"), default=True)
    created_at = models.DateTimeField(
        pgettext_lazy("email template", "created at"), auto_now_add=True
    )
    updated_at = models.DateTimeField(pgettext_lazy("email template", "updated at"), auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("email template")
        verbose_name_plural = _("email templates")

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        """Every part must compile in the sandboxed engine (no include, calls, or '_')."""
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
