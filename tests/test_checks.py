"""System checks fire on broken configurations, through ``manage.py check`` too."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import override_settings

from django_petmail import checks


def ids(messages):
    return [m.id for m in messages]


def test_clean_configuration_has_no_messages():
    assert checks.check_settings_dict() == []
    assert checks.check_owner_model() == []
    assert checks.check_adapter() == []
    assert checks.check_site_url() == []


def test_petmail_not_a_dict():
    with override_settings(PETMAIL="https://clinic.test"):
        assert ids(checks.check_settings_dict()) == ["petmail.E001"]
        assert checks.check_site_url() == []


def test_unknown_keys_warn():
    with override_settings(PETMAIL={"SITE_URL": "https://x.test", "BATCHSIZE": 10}):
        messages = checks.check_settings_dict()
    assert ids(messages) == ["petmail.W002"]
    assert "BATCHSIZE" in messages[0].msg


def test_missing_site_url_warns():
    with override_settings(PETMAIL={}):
        assert ids(checks.check_site_url()) == ["petmail.W001"]


@pytest.mark.parametrize("url", ["clinic.test", "ftp://clinic.test", "https://"])
def test_invalid_site_url_is_an_error(url):
    with override_settings(PETMAIL={"SITE_URL": url}):
        assert ids(checks.check_site_url()) == ["petmail.E005"]


@pytest.mark.parametrize("label", ["nope", "nope.Model", "clinic.Missing"])
def test_bad_owner_model(settings, label):
    settings.PETMAIL_OWNER_MODEL = label
    assert ids(checks.check_owner_model()) == ["petmail.E002"]


def test_owner_model_without_email_field(settings):
    settings.PETMAIL_OWNER_MODEL = "clinic.Pet"
    messages = checks.check_owner_model()
    assert ids(messages) == ["petmail.E003"]
    assert "'email'" in messages[0].msg


def test_owner_email_field_comes_from_the_adapter(settings):
    settings.PETMAIL_OWNER_MODEL = "clinic.Pet"
    with override_settings(PETMAIL={"ADAPTER": "tests.test_checks.PetNameAdapter"}):
        assert checks.check_owner_model() == []


def test_unimportable_adapter(settings):
    with override_settings(PETMAIL={"ADAPTER": "nowhere.Adapter"}):
        assert ids(checks.check_adapter()) == ["petmail.E004"]
        # the owner check still runs, with the default email field
        assert checks.check_owner_model() == []


def test_adapter_of_the_wrong_type():
    with override_settings(PETMAIL={"ADAPTER": "builtins.object"}):
        assert ids(checks.check_adapter()) == ["petmail.E004"]


def test_deploy_checks(settings):
    settings.EMAIL_BACKEND = "anymail.backends.amazon_ses.EmailBackend"
    topics = ["arn:aws:sns:eu-west-1:123456789012:petmail-tracking"]
    settings.PETMAIL = {**settings.PETMAIL, "SNS_TOPIC_ARNS": topics}
    assert checks.check_deploy() == []
    with override_settings(PETMAIL={"SITE_URL": "http://clinic.test", "SNS_TOPIC_ARNS": topics}):
        assert ids(checks.check_deploy()) == ["petmail.W003"]
    settings.EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
    assert ids(checks.check_deploy()) == ["petmail.W004"]
    settings.EMAIL_BACKEND = "anymail.backends.amazon_ses.EmailBackend"
    settings.INSTALLED_APPS = [a for a in settings.INSTALLED_APPS if a != "anymail"]
    assert ids(checks.check_deploy()) == ["petmail.W005"]
    with override_settings(PETMAIL="oops"):
        assert "petmail.W003" not in ids(checks.check_deploy())


SES = "anymail.backends.amazon_ses.EmailBackend"
CONSOLE = "django.core.mail.backends.console.EmailBackend"


def test_configured_backends_without_mailers_is_email_backend(settings):
    settings.EMAIL_BACKEND = SES
    assert checks.configured_backends() == {"EMAIL_BACKEND": SES}


def test_configured_backends_read_django_6_1_mailers_default_first():
    mailers = {
        "bulk": {"BACKEND": CONSOLE},
        "default": {"BACKEND": SES, "OPTIONS": {}},
        "smtp": {},
    }
    with override_settings(MAILERS=mailers, EMAIL_BACKEND=CONSOLE):
        assert list(checks.configured_backends().items()) == [
            ("MAILERS['default']", SES),
            ("MAILERS['bulk']", CONSOLE),
            ("MAILERS['smtp']", "django.core.mail.backends.smtp.EmailBackend"),
        ]


def test_deploy_checks_follow_mailers_not_the_deprecated_email_backend(settings):
    settings.EMAIL_BACKEND = SES  # ignored once MAILERS is set
    settings.PETMAIL = {**settings.PETMAIL, "SNS_TOPIC_ARNS": ["arn:aws:sns:eu-west-1:1:t"]}
    with override_settings(MAILERS={"default": {"BACKEND": CONSOLE}}):
        messages = checks.check_deploy()
        assert ids(messages) == ["petmail.W004"]
        assert "MAILERS['default']" in messages[0].msg
    with override_settings(MAILERS={"default": {"BACKEND": SES}}):
        assert checks.check_deploy() == []
    settings.INSTALLED_APPS = [a for a in settings.INSTALLED_APPS if a != "anymail"]
    with override_settings(MAILERS={"default": {"BACKEND": CONSOLE}, "ses": {"BACKEND": SES}}):
        assert ids(checks.check_deploy()) == ["petmail.W004", "petmail.W005"]


def test_ses_check_looks_at_every_mailer(settings):
    settings.ROOT_URLCONF = "tests.urls_no_tracking"
    mailers = {"default": {"BACKEND": CONSOLE}, "marketing": {"BACKEND": SES}}
    with override_settings(MAILERS=mailers):
        assert "petmail.W006" in ids(checks.check_deploy())
    with override_settings(MAILERS={"default": {"BACKEND": CONSOLE}}):
        assert "petmail.W006" not in ids(checks.check_deploy())


def test_manage_py_check_reports_broken_configuration(settings):
    settings.PETMAIL_OWNER_MODEL = "clinic.Pet"
    with (
        override_settings(PETMAIL={"SITE_URL": "not a url"}),
        pytest.raises(SystemCheckError) as excinfo,
    ):
        call_command("check", stdout=StringIO(), stderr=StringIO())
    text = str(excinfo.value)
    assert "petmail.E003" in text
    assert "petmail.E005" in text


def test_manage_py_check_deploy_shows_the_deploy_warnings(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
    out = StringIO()
    with override_settings(PETMAIL={"SITE_URL": "http://clinic.test"}):
        call_command("check", "--deploy", "--tag", "security", stdout=out, stderr=out)
    text = out.getvalue()
    assert "petmail.W003" in text
    assert "petmail.W004" in text


from django_petmail.adapter import PetmailAdapter  # noqa: E402


class PetNameAdapter(PetmailAdapter):
    owner_email_field = "name"


def test_ses_tracking_webhook_check(settings):
    """W006: with the SES backend, the tracking path must reach the package's view."""
    settings.EMAIL_BACKEND = "anymail.backends.amazon_ses.EmailBackend"
    assert "petmail.W006" not in ids(checks.check_deploy())  # the example project's URLs
    settings.ROOT_URLCONF = "tests.urls_anymail_first"
    assert "petmail.W006" in ids(checks.check_deploy())  # anymail's view shadows ours
    settings.ROOT_URLCONF = "tests.urls_no_tracking"
    assert "petmail.W006" in ids(checks.check_deploy())
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    assert "petmail.W006" not in ids(checks.check_deploy())  # not SES: not asked


@pytest.mark.django_db
def test_stored_sequences_with_unknown_trigger_or_skip_condition_are_reported():
    from django_petmail.checks import check_stored_sequences
    from django_petmail.models import AutomatedSequence, SequenceStep

    sequence = AutomatedSequence.objects.create(
        name="old", trigger_type="custom", custom_trigger="gone"
    )
    SequenceStep.objects.create(
        sequence=sequence,
        step_number=1,
        subject="s",
        html_content="<p>x</p>",
        skip_if={"nope": True},
    )
    AutomatedSequence.objects.create(name="fine", trigger_type="signup")
    assert check_stored_sequences(databases=None) == []
    messages = check_stored_sequences(databases=["default"])
    assert [m.id for m in messages] == ["petmail.E007", "petmail.E008"]
    assert "custom_trigger" in messages[0].msg and "'gone'" in messages[0].msg
    assert "nope" in messages[1].msg
