"""Exceptions carry the built-in base Django reacts to, and messages that say what to do."""

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
