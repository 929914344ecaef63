"""The PETMAIL settings object: defaults, lazy imports, reload under override_settings."""

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from django_petmail.adapter import PetmailAdapter
from django_petmail.conf import DEFAULTS, PetmailSettings, get_owner_model, owner_model_label
from django_petmail.conf import petmail_settings as ps
from django_petmail.exceptions import PetmailImproperlyConfigured


def test_defaults_apply_when_not_overridden():
    assert DEFAULTS["BATCH_SIZE"] == ps.BATCH_SIZE
    assert ps.FALLBACK_FIRST_NAME == "Amigo"


def test_user_value_wins_and_reloads_under_override_settings():
    assert ps.SITE_URL == "https://clinic.test"
    with override_settings(PETMAIL={"SITE_URL": "https://other.test", "BATCH_SIZE": 7}):
        assert ps.SITE_URL == "https://other.test"
        assert ps.BATCH_SIZE == 7
    assert ps.SITE_URL == "https://clinic.test"
    assert DEFAULTS["BATCH_SIZE"] == ps.BATCH_SIZE


def test_dotted_paths_are_imported_lazily():
    from clinic.adapter import ClinicAdapter

    assert ps.ADAPTER is ClinicAdapter
    with override_settings(PETMAIL={"ADAPTER": PetmailAdapter}):
        assert ps.ADAPTER is PetmailAdapter


def test_unimportable_dotted_path_names_the_setting():
    with (
        override_settings(PETMAIL={"ADAPTER": "nowhere.Adapter"}),
        pytest.raises(ImproperlyConfigured, match=r"PETMAIL\['ADAPTER'\]"),
    ):
        _ = ps.ADAPTER


def test_unknown_setting_is_an_attribute_error():
    with pytest.raises(AttributeError, match="NOT_A_SETTING"):
        _ = ps.NOT_A_SETTING
    with pytest.raises(AttributeError):
        _ = ps._private


def test_petmail_must_be_a_dict():
    with (
        override_settings(PETMAIL=["SITE_URL"]),
        pytest.raises(PetmailImproperlyConfigured, match="must be a dict"),
    ):
        _ = ps.SITE_URL


def test_missing_petmail_setting_uses_defaults():
    settings_obj = PetmailSettings()
    with override_settings(PETMAIL=None):
        assert DEFAULTS["BATCH_SIZE"] == settings_obj.BATCH_SIZE


def test_owner_model_label_defaults_to_the_user_model(settings):
    del settings.PETMAIL_OWNER_MODEL
    assert owner_model_label() == settings.AUTH_USER_MODEL


def test_owner_model_follows_the_setting(settings):
    settings.PETMAIL_OWNER_MODEL = "clinic.Owner"
    from clinic.models import Owner

    assert get_owner_model() is Owner


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("clinic", "must be of the form"),
        ("clinic.Nope", "not installed"),
        ("nope.Model", "not installed"),
    ],
)
def test_bad_owner_model_is_improperly_configured(settings, value, message):
    settings.PETMAIL_OWNER_MODEL = value
    with pytest.raises(ImproperlyConfigured, match=message):
        get_owner_model()
