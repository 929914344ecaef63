"""The PETMAIL settings object: defaults, lazy imports, reload under override_settings."""

import datetime as dt

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


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("BATCH_SIZE", "250", 250),
        ("BATCH_SIZE", 250.0, 250),
        ("CONFIRMATION_MAX_AGE", dt.timedelta(days=2), 172800),
        ("RATE_LIMIT_PER_SECOND", None, 0),
        ("SEND_TIME_BUDGET", 12, 12.0),
        ("SEND_TIME_BUDGET", dt.timedelta(minutes=1), 60.0),
        ("SEND_LEASE_SECONDS", dt.timedelta(minutes=1), 60),
        ("AB_CONFIDENCE", 0.9, 0.9),
        ("SITE_URL", "https://clinic.test/", "https://clinic.test"),
        ("SITE_URL", "", None),
        ("FROM_EMAIL", "", None),
        ("REPLY_TO", "a@x.test", ["a@x.test"]),
        ("REPLY_TO", ("a@x.test", "b@x.test"), ["a@x.test", "b@x.test"]),
        ("REPLY_TO", None, []),
        ("TOPICS", ("news",), ["news"]),
        ("SUBSCRIBE_RATE_LIMIT_PER_IP", "20/h", (20, 3600)),
        ("SUBSCRIBE_RATE_LIMIT_PER_ADDRESS", "", None),
        ("FREQUENCY_CAPS", {"weekly": [2, 7]}, {"weekly": (2, 7)}),
    ],
)
def test_values_are_converted_once(name, value, expected):
    with override_settings(PETMAIL={name: value}):
        assert getattr(ps, name) == expected
        assert type(getattr(ps, name)) is type(expected)


def test_every_default_is_valid():
    with override_settings(PETMAIL={}):
        assert ps.invalid() == {}
        for name in DEFAULTS:
            getattr(ps, name)


def test_lists_and_dicts_are_fresh_copies():
    topics = ps.TOPICS
    topics.append("mutated")
    caps = ps.FREQUENCY_CAPS
    caps["daily"] = (1, 1)
    assert "mutated" not in ps.TOPICS
    assert "daily" not in ps.FREQUENCY_CAPS


@pytest.mark.parametrize(
    ("name", "value", "reason"),
    [
        ("BATCH_SIZE", 0, "at least 1"),
        ("BATCH_SIZE", "many", "whole number"),
        ("BATCH_SIZE", 2.5, "whole number"),
        ("BATCH_SIZE", True, "whole number"),
        ("BATCH_SIZE", dt.timedelta(seconds=5), "whole number"),
        ("MAX_RETRIES", -1, "at least 0"),
        ("SEND_TIME_BUDGET", 0, "positive number"),
        ("AB_CONFIDENCE", 95, "between 0 and 1"),
        ("AB_DEFAULT_WINNER", "C", "'A' or 'B'"),
        ("INLINE_CSS", "yes", "True or False"),
        ("TRACK_OPENS", 1, "True or False"),
        ("TOPICS", "news", "list of strings"),
        ("LANGUAGES", ["es", ""], "non-empty strings"),
        ("DEFAULT_LANGUAGE", "", "non-empty string"),
        ("POSTAL_ADDRESS", None, "a string"),
        ("REPLY_TO", [1], "non-empty strings"),
        ("SUBSCRIBE_RATE_LIMIT_PER_IP", "20 per hour", "use the form '20/h'"),
        ("FREQUENCY_CAPS", [(1, 7)], "frequency -> \\(messages, days\\)"),
        ("FREQUENCY_CAPS", {"weekly": 1}, "frequency -> \\(messages, days\\)"),
        ("FREQUENCY_CAPS", {"weekly": (0, 7)}, "at least 1"),
    ],
)
def test_bad_values_are_improperly_configured_naming_the_setting(name, value, reason):
    with override_settings(PETMAIL={name: value}):
        with pytest.raises(ImproperlyConfigured, match=rf"PETMAIL\['{name}'\] = .*{reason}"):
            getattr(ps, name)
        assert list(ps.invalid()) == [name]


def test_bad_values_are_reported_by_the_settings_check():
    from django_petmail import checks

    with override_settings(PETMAIL={"SITE_URL": "https://x.test", "BATCH_SIZE": 0}):
        messages = checks.check_settings_dict()
    assert [m.id for m in messages] == ["petmail.E006"]
    assert "PETMAIL['BATCH_SIZE'] = 0" in messages[0].msg
    assert "PETMAIL['BATCH_SIZE']" in messages[0].hint


def test_custom_defaults_without_a_validator_pass_through():
    custom = PetmailSettings({"EXTRA": object})
    assert custom.EXTRA is object
