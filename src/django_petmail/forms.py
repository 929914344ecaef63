"""Forms of the public pages. Every field error names the field and says what to fix."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from .adapter import get_adapter
from .conf import petmail_settings
from .models import Frequency, SubscriptionSource, normalize_email


def topic_choices() -> list[tuple[str, Any]]:
    """Configured topics with their labels, left lazy: a page rendered in the subscriber's
    language shows them in that language."""
    labels = {
        "promotions": _("Promotions"),
        "pet_tips": _("Tips for your pet"),
        "news": _("Clinic news"),
        "reminders": _("Reminders"),
    }
    return [(t, labels.get(t, t)) for t in get_adapter().get_topics()]


def language_choices() -> list[tuple[str, Any]]:
    names = dict(settings.LANGUAGES)
    return [(code, names.get(code, code)) for code in petmail_settings.LANGUAGES]


def validate_single_line(value: str) -> None:
    if any(ch in value for ch in "\r\n") or not value.isprintable():
        raise forms.ValidationError(
            _("This field cannot contain line breaks or control characters."),
            code="control_characters",
        )


class PreferencesFieldsMixin(forms.Form):
    frequency = forms.ChoiceField(label=_("Frequency"), choices=Frequency.choices)
    topics = forms.MultipleChoiceField(
        label=_("Topics"), widget=forms.CheckboxSelectMultiple, required=False
    )
    language = forms.ChoiceField(label=_("Language"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["topics"]).choices = topic_choices()
        cast(forms.ChoiceField, self.fields["language"]).choices = language_choices()


class SubscribeForm(PreferencesFieldsMixin):
    email = forms.EmailField(label=_("Email"), max_length=254)
    first_name = forms.CharField(
        label=_("Name"), max_length=100, required=False, validators=[validate_single_line]
    )
    source = forms.ChoiceField(
        label=_("Source"),
        choices=SubscriptionSource.choices,
        required=False,
        widget=forms.HiddenInput,
        initial=SubscriptionSource.WEBSITE,
    )
    consent = forms.BooleanField(
        label=_(
            "I agree to receive emails from the clinic and know I can unsubscribe at any time."
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
    is_paused = forms.BooleanField(label=_("Pause all emails"), required=False)


class UnsubscribeForm(forms.Form):
    reason = forms.CharField(
        label=_("Why are you leaving? (optional)"),
        max_length=255,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class ResendForm(forms.Form):
    token = forms.CharField(max_length=500, widget=forms.HiddenInput)
