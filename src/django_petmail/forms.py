"""Forms of the public pages. Every field error names the field and says what to fix."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from .adapter import get_adapter
from .conf import petmail_settings
from .models import Frequency, SubscriptionSource, normalize_email


def topic_choices() -> list[tuple[str, str]]:
    labels = {
        "promotions": _("Promociones"),
        "pet_tips": _("Consejos para tu mascota"),
        "news": _("Noticias de la clínica"),
        "reminders": _("Recordatorios"),
    }
    return [(t, str(labels.get(t, t))) for t in get_adapter().get_topics()]


def language_choices() -> list[tuple[str, str]]:
    names = dict(settings.LANGUAGES)
    return [(code, str(names.get(code, code))) for code in petmail_settings.LANGUAGES]


def validate_single_line(value: str) -> None:
    if any(ch in value for ch in "\r\n") or not value.isprintable():
        raise forms.ValidationError(
            _("Este campo no puede contener saltos de línea ni caracteres de control."),
            code="control_characters",
        )


class PreferencesFieldsMixin(forms.Form):
    frequency = forms.ChoiceField(label=_("Frecuencia"), choices=Frequency.choices)
    topics = forms.MultipleChoiceField(
        label=_("Temas"), widget=forms.CheckboxSelectMultiple, required=False
    )
    language = forms.ChoiceField(label=_("Idioma"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["topics"]).choices = topic_choices()
        cast(forms.ChoiceField, self.fields["language"]).choices = language_choices()


class SubscribeForm(PreferencesFieldsMixin):
    email = forms.EmailField(label=_("Email"), max_length=254)
    first_name = forms.CharField(
        label=_("Nombre"), max_length=100, required=False, validators=[validate_single_line]
    )
    source = forms.ChoiceField(
        label=_("Origen"),
        choices=SubscriptionSource.choices,
        required=False,
        widget=forms.HiddenInput,
        initial=SubscriptionSource.WEBSITE,
    )
    consent = forms.BooleanField(
        label=_(
            "Acepto recibir emails de la clínica y sé que puedo darme de baja en cualquier momento."
        ),
        required=True,
    )
    field_order = ["email", "first_name", "frequency", "topics", "language", "consent"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["frequency"].initial = Frequency.WEEKLY
        self.fields["topics"].initial = petmail_settings.DEFAULT_TOPICS
        self.fields["language"].initial = petmail_settings.DEFAULT_LANGUAGE

    def clean_email(self) -> str:
        return normalize_email(self.cleaned_data["email"])


class PreferencesForm(PreferencesFieldsMixin):
    is_paused = forms.BooleanField(label=_("Pausar todos los emails"), required=False)


class UnsubscribeForm(forms.Form):
    reason = forms.CharField(
        label=_("¿Por qué te vas? (opcional)"),
        max_length=255,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class ResendForm(forms.Form):
    token = forms.CharField(max_length=500, widget=forms.HiddenInput)
