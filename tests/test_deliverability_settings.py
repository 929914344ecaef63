"""The deliverability settings are validated like the others, and misconfigurations of the
SES webhook's security show up in ``manage.py check --deploy`` (W007, W008)."""

import pytest
from django.test import override_settings

from django_petmail import checks
from django_petmail.conf import petmail_settings
from django_petmail.exceptions import PetmailImproperlyConfigured

SES = "anymail.backends.amazon_ses.EmailBackend"
TOPICS = ["arn:aws:sns:eu-west-1:123456789012:petmail-tracking"]


def ids(messages):
    return [m.id for m in messages]


def test_defaults():
    assert petmail_settings.SNS_VERIFY_SIGNATURES is True
    assert petmail_settings.SNS_TOPIC_ARNS == []
    assert petmail_settings.WEBHOOK_MAX_BYTES == 256 * 1024
    assert (petmail_settings.SOFT_BOUNCE_LIMIT, petmail_settings.SOFT_BOUNCE_DAYS) == (3, 30)
    assert petmail_settings.REPUTATION_BOUNCE_RATE == 5.0
    assert petmail_settings.REPUTATION_COMPLAINT_RATE == 0.1
    assert petmail_settings.REPUTATION_MIN_SENT == 200


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("REPUTATION_BOUNCE_RATE", 0),
        ("REPUTATION_BOUNCE_RATE", 101),
        ("REPUTATION_COMPLAINT_RATE", "0.1"),
        ("REPUTATION_COMPLAINT_RATE", True),
        ("SNS_TOPIC_ARNS", "arn:aws:sns:eu-west-1:1:t"),
        ("SNS_VERIFY_SIGNATURES", "yes"),
        ("WEBHOOK_MAX_BYTES", 10),
        ("SOFT_BOUNCE_LIMIT", 0),
    ],
)
def test_bad_values_name_the_setting(name, value):
    with override_settings(PETMAIL={name: value}):
        with pytest.raises(PetmailImproperlyConfigured, match=name):
            getattr(petmail_settings, name)
        assert "petmail.E006" in ids(checks.check_settings_dict())
        assert checks.check_sns_verification() == [] or name != "SNS_VERIFY_SIGNATURES"


def test_deploy_warns_about_an_unprotected_ses_webhook(settings):
    settings.EMAIL_BACKEND = SES
    with override_settings(PETMAIL={"SITE_URL": "https://clinic.test"}):
        assert ids(checks.check_deploy()) == ["petmail.W008"]
    with override_settings(
        PETMAIL={"SITE_URL": "https://clinic.test", "SNS_VERIFY_SIGNATURES": False}
    ):
        assert ids(checks.check_deploy()) == ["petmail.W007", "petmail.W008"]
    with override_settings(PETMAIL={"SITE_URL": "https://clinic.test", "SNS_TOPIC_ARNS": TOPICS}):
        assert checks.check_deploy() == []
    with override_settings(PETMAIL={"SITE_URL": "https://clinic.test", "SNS_TOPIC_ARNS": "x"}):
        assert "petmail.W008" not in ids(checks.check_deploy())  # E006 reports it


def test_verification_needs_cryptography_only_for_ses(settings):
    settings.EMAIL_BACKEND = SES
    assert checks.check_sns_verification() == []  # installed with the ses extra
    settings.EMAIL_BACKEND = "anymail.backends.test.EmailBackend"
    assert checks.check_sns_verification() == []
