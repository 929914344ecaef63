"""System checks: misconfiguration is reported by ``manage.py check`` with an id and a hint."""

from __future__ import annotations

import warnings
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core import checks
from django.core.exceptions import FieldDoesNotExist

from .conf import DEFAULTS, get_owner_model, owner_model_label, petmail_settings
from .exceptions import PetmailImproperlyConfigured

_NON_DELIVERING_BACKENDS = {
    "django.core.mail.backends.console.EmailBackend",
    "django.core.mail.backends.locmem.EmailBackend",
    "django.core.mail.backends.dummy.EmailBackend",
    "django.core.mail.backends.filebased.EmailBackend",
    "anymail.backends.test.EmailBackend",
}
_SMTP_BACKEND = "django.core.mail.backends.smtp.EmailBackend"


def configured_backends() -> dict[str, str]:
    """The email backend of each configured mailer, by name of the setting that chose it.

    Django 6.1 configures mailers in ``MAILERS`` (``{alias: {"BACKEND": …}}``, SMTP when
    ``BACKEND`` is left out) and deprecates ``EMAIL_BACKEND``; a project still on the old
    setting (or on an older Django) has one mailer, ``EMAIL_BACKEND``. The default mailer, the
    one django-petmail sends with, comes first.
    """
    mailers = getattr(settings, "MAILERS", None)
    if isinstance(mailers, dict):
        aliases = sorted(mailers, key=lambda alias: alias != "default")
        return {
            f"MAILERS[{alias!r}]": str((mailers[alias] or {}).get("BACKEND", _SMTP_BACKEND))
            for alias in aliases
        }
    with warnings.catch_warnings():
        try:
            from django.utils.deprecation import RemovedInDjango70Warning
        except ImportError:  # Django < 6.1: nothing is deprecated yet
            pass
        else:  # Django 6.1-6.2: reading the deprecated setting is our choice, not the host's
            warnings.simplefilter("ignore", RemovedInDjango70Warning)
        return {"EMAIL_BACKEND": str(settings.EMAIL_BACKEND)}


@checks.register(checks.Tags.compatibility)
def check_settings_dict(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    value = getattr(settings, "PETMAIL", {})
    if not isinstance(value, dict):
        return [
            checks.Error(
                "settings.PETMAIL must be a dict.",
                hint="Define PETMAIL = {...} with the keys documented in docs/configuration.md.",
                id="petmail.E001",
            )
        ]
    messages: list[checks.CheckMessage] = [
        checks.Warning(
            f"Unknown setting PETMAIL[{key!r}] is ignored.",
            hint="Check the spelling against docs/configuration.md.",
            id="petmail.W002",
        )
        for key in sorted(set(value) - set(DEFAULTS))
    ]
    messages.extend(
        checks.Error(
            str(error),
            hint=f"Fix or remove PETMAIL[{key!r}]; docs/configuration.md gives its form.",
            id="petmail.E006",
        )
        for key, error in petmail_settings.invalid().items()
    )
    return messages


@checks.register(checks.Tags.models)
def check_owner_model(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    try:
        model = get_owner_model()
    except PetmailImproperlyConfigured as exc:
        return [
            checks.Error(
                str(exc),
                hint="Set PETMAIL_OWNER_MODEL to an installed model, e.g. 'clinic.Owner'.",
                id="petmail.E002",
            )
        ]
    try:
        field_name = _adapter().owner_email_field
    except PetmailImproperlyConfigured:
        field_name = "email"  # the adapter itself is reported by check_adapter
    try:
        model._meta.get_field(field_name)
    except FieldDoesNotExist:
        return [
            checks.Error(
                f"The owner model {owner_model_label()} has no field {field_name!r} to match "
                "subscriptions against.",
                hint="Add an email field, or set owner_email_field on your PETMAIL['ADAPTER'].",
                obj=model,
                id="petmail.E003",
            )
        ]
    return []


def _adapter() -> Any:
    from .adapter import get_adapter

    return get_adapter()


@checks.register()
def check_adapter(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    try:
        _adapter()
    except PetmailImproperlyConfigured as exc:
        return [
            checks.Error(
                str(exc),
                hint="PETMAIL['ADAPTER'] must be the dotted path of a PetmailAdapter subclass.",
                id="petmail.E004",
            )
        ]
    return []


@checks.register()
def check_site_url(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    petmail = getattr(settings, "PETMAIL", {})
    if not isinstance(petmail, dict):
        return []  # reported by E001
    url = petmail.get("SITE_URL")
    if not url:
        return [
            checks.Warning(
                "PETMAIL['SITE_URL'] is not set: emails cannot carry absolute unsubscribe, "
                "preference or tracking links.",
                hint="Set PETMAIL['SITE_URL'] = 'https://your-site.example'.",
                id="petmail.W001",
            )
        ]
    parts = urlsplit(str(url))
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        return [
            checks.Error(
                f"PETMAIL['SITE_URL'] = {url!r} is not an absolute http(s) URL.",
                hint="Use the form 'https://your-site.example'.",
                id="petmail.E005",
            )
        ]
    return []


@checks.register(checks.Tags.security, deploy=True)
def check_deploy(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    messages: list[checks.CheckMessage] = []
    petmail = getattr(settings, "PETMAIL", {})
    url = petmail.get("SITE_URL") if isinstance(petmail, dict) else None
    if url and urlsplit(str(url)).scheme != "https":
        messages.append(
            checks.Warning(
                "PETMAIL['SITE_URL'] is not https: Gmail and Yahoo require an https "
                "one-click unsubscribe URL (RFC 8058).",
                hint="Serve the site over https and set SITE_URL accordingly.",
                id="petmail.W003",
            )
        )
    backends = configured_backends()
    default_setting, default_backend = next(iter(backends.items()), ("EMAIL_BACKEND", ""))
    if default_backend in _NON_DELIVERING_BACKENDS:
        messages.append(
            checks.Warning(
                f"{default_setting} uses {default_backend!r}, which delivers nothing.",
                hint="Use an anymail backend, e.g. 'anymail.backends.amazon_ses.EmailBackend'.",
                id="petmail.W004",
            )
        )
    anymail = [name for name, backend in backends.items() if backend.startswith("anymail.")]
    if anymail and "anymail" not in settings.INSTALLED_APPS:
        messages.append(
            checks.Warning(
                f"{anymail[0]} uses an anymail backend but 'anymail' is not in "
                "INSTALLED_APPS, so its tracking webhooks cannot be served.",
                hint="Add 'anymail' to INSTALLED_APPS and include 'anymail.urls'.",
                id="petmail.W005",
            )
        )
    uses_ses = any("amazon_ses" in backend for backend in backends.values())
    if uses_ses and not _ses_tracking_served():
        messages.append(
            checks.Warning(
                "The Amazon SES tracking webhook is not served by django_petmail's view, so "
                "bounces and complaints may not be recorded, or unreadable notifications "
                "answer 500 and SNS redelivers them for days.",
                hint="Include 'django_petmail.tracking.urls' under 'anymail/', before "
                "'anymail.urls'.",
                id="petmail.W006",
            )
        )
    if uses_ses:
        messages.extend(_sns_deploy_messages())
    return messages


def _sns_deploy_messages() -> list[checks.CheckMessage]:
    try:
        verify, topics = petmail_settings.SNS_VERIFY_SIGNATURES, petmail_settings.SNS_TOPIC_ARNS
    except PetmailImproperlyConfigured:
        return []  # reported by E006
    messages: list[checks.CheckMessage] = []
    if not verify:
        messages.append(
            checks.Warning(
                "PETMAIL['SNS_VERIFY_SIGNATURES'] is off: anyone who learns the webhook's "
                "basic-auth secret can forge bounces and complaints and suppress any address.",
                hint="Remove PETMAIL['SNS_VERIFY_SIGNATURES'] (it is on by default).",
                id="petmail.W007",
            )
        )
    if not topics:
        messages.append(
            checks.Warning(
                "PETMAIL['SNS_TOPIC_ARNS'] is empty: notifications from any SNS topic are "
                "accepted, and SNS subscription confirmations are refused.",
                hint="List the ARNs of the SNS topics your SES configuration set publishes "
                "to, e.g. ['arn:aws:sns:eu-west-1:123456789012:petmail-tracking'].",
                id="petmail.W008",
            )
        )
    return messages


@checks.register(checks.Tags.security)
def check_sns_verification(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    try:
        verify = petmail_settings.SNS_VERIFY_SIGNATURES
    except PetmailImproperlyConfigured:
        return []  # reported by E006
    if not verify or not any("amazon_ses" in b for b in configured_backends().values()):
        return []
    try:
        import cryptography  # noqa: F401 - the ses extra's, probed only
    except ImportError:  # pragma: no cover - installed with the ses extra
        return [
            checks.Error(
                "SNS signatures cannot be verified: the 'cryptography' package is missing, "
                "so every SES notification would be refused.",
                hint="pip install 'django-petmail[ses]'.",
                id="petmail.E009",
            )
        ]
    return []


def _ses_tracking_served() -> bool:
    """Whether anymail's SES tracking path resolves to the package's view."""
    from django.urls import NoReverseMatch, Resolver404, resolve, reverse

    from .tracking.webhooks import RefuseUnreadable

    try:
        view = resolve(reverse("petmail_amazon_ses_tracking_webhook")).func
    except (NoReverseMatch, Resolver404):
        return False
    return issubclass(getattr(view, "view_class", object), RefuseUnreadable)


@checks.register(checks.Tags.database)
def check_stored_sequences(
    app_configs: Any = None, databases: Any = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    """Sequences stored before a trigger or skip condition was unregistered (an app removed,
    a name changed): ``manage.py check --database default`` names each one."""
    if not databases:
        return []
    from django.db import DatabaseError  # only this check touches the database

    from .models import AutomatedSequence, SequenceStep
    from .sequences.registry import sequence_errors, skip_condition_errors

    messages: list[checks.CheckMessage] = []
    try:
        for sequence in AutomatedSequence.objects.all():
            for field, problems in sequence_errors(sequence).items():
                messages.append(
                    checks.Error(
                        f"Sequence {sequence.pk} ({sequence.name}): {field}: {'; '.join(problems)}",
                        hint="Register the trigger in a petmail_hooks module, or edit the "
                        "sequence in the admin.",
                        obj=sequence,
                        id="petmail.E007",
                    )
                )
        for step in SequenceStep.objects.exclude(skip_if={}).select_related("sequence"):
            problems = skip_condition_errors(step.skip_if)
            if problems:
                messages.append(
                    checks.Error(
                        f"Step {step}: skip_if: {'; '.join(problems)}",
                        hint="Register the skip condition, or edit the step in the admin.",
                        obj=step,
                        id="petmail.E008",
                    )
                )
    except DatabaseError:  # not migrated yet: nothing stored to check
        return []
    return messages
