"""Exceptions carry the built-in base Django reacts to, and messages that say what to do."""

import pytest
from django.core.exceptions import ImproperlyConfigured, SuspiciousOperation
from django.dispatch import Signal

from django_petmail import signals
from django_petmail.exceptions import (
    InvalidToken,
    InvalidTransition,
    PetmailError,
    PetmailImproperlyConfigured,
    RuleValidationError,
)


def test_hierarchy():
    assert issubclass(PetmailImproperlyConfigured, ImproperlyConfigured)
    assert issubclass(InvalidToken, SuspiciousOperation)
    for exc in (InvalidToken, InvalidTransition, RuleValidationError):
        assert issubclass(exc, PetmailError)


def test_invalid_transition_names_both_states():
    exc = InvalidTransition("campaign", "sent", "draft")
    assert isinstance(exc, ValueError)
    assert str(exc) == "A campaign cannot go from 'sent' to 'draft'."
    assert (exc.current, exc.target) == ("sent", "draft")


def test_rule_validation_error_lists_every_path():
    exc = RuleValidationError([("conditions[0].op", "unknown operator 'x'"), ("$", "empty")])
    assert str(exc) == "conditions[0].op: unknown operator 'x'; $: empty"
    assert exc.as_list() == [
        {"path": "conditions[0].op", "message": "unknown operator 'x'"},
        {"path": "$", "message": "empty"},
    ]


def test_signals_are_documented_signals():
    names = [
        "subscribed",
        "confirmed",
        "preferences_changed",
        "unsubscribed",
        "erased",
        "campaign_state_changed",
        "email_event_recorded",
    ]
    for name in names:
        assert isinstance(getattr(signals, name), Signal)


def _package_modules():
    import importlib
    import pkgutil

    import django_petmail

    yield django_petmail
    for info in pkgutil.walk_packages(django_petmail.__path__, "django_petmail."):
        if ".migrations" not in info.name:
            yield importlib.import_module(info.name)


def test_every_package_exception_is_a_petmail_error_defined_in_exceptions():
    from django_petmail import exceptions

    found = {
        obj
        for module in _package_modules()
        for obj in vars(module).values()
        if isinstance(obj, type)
        and issubclass(obj, BaseException)
        and obj.__module__.startswith("django_petmail")
    }
    assert {"ExpiredToken", "TemplateError", "ValueProblem"} <= {exc.__name__ for exc in found}
    for exc in found:
        assert issubclass(exc, PetmailError), exc
        assert exc.__module__ == "django_petmail.exceptions", exc
        assert getattr(exceptions, exc.__name__) is exc


@pytest.mark.parametrize(
    ("name", "builtin"),
    [
        ("ExpiredToken", SuspiciousOperation),
        ("TemplateError", ValueError),
        ("ValueProblem", ValueError),
        ("UnknownRegistryEntry", LookupError),
        ("DuplicateRegistryEntry", ValueError),
    ],
)
def test_moved_exceptions_keep_their_builtin_and_old_import_paths(name, builtin):
    from django_petmail import exceptions, tokens
    from django_petmail.rendering import sandbox
    from django_petmail.segments import values

    exc = getattr(exceptions, name)
    assert issubclass(exc, PetmailError)
    assert issubclass(exc, builtin)
    old_home = {"ExpiredToken": tokens, "TemplateError": sandbox, "ValueProblem": values}
    if name in old_home:
        assert getattr(old_home[name], name) is exc
