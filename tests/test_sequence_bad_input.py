"""Bad input to sequences, each refused where it enters and named: unknown triggers and
skip conditions, conditions of the wrong type, broken step numbering, negative delays, host
code that raises (that sequence stops, the others go on), and bad calls of ``trigger()``."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import translation

import django_petmail
from django_petmail import models as pm
from django_petmail.sequences.enrollment import MAX_CONTEXT_BYTES, enroll
from django_petmail.sequences.progression import process
from django_petmail.sequences.registry import sequence_triggers, skip_conditions
from django_petmail.sequences.steps import step_errors, validate_steps
from tests.factories import OwnerFactory, SequenceFactory, StepFactory, SubscriptionFactory
from tests.sequence_utils import make_sequence, subjects_to

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 2, 2, 9, 0, tzinfo=UTC)


def errors_of(instance):
    with pytest.raises(ValidationError) as info:
        instance.full_clean()
    return info.value.message_dict


# --- triggers and conditions -----------------------------------------------------------


def test_an_unknown_custom_trigger_is_refused_naming_the_field():
    errors = errors_of(pm.AutomatedSequence(name="x", trigger_type="custom", custom_trigger="nope"))
    assert list(errors) == ["custom_trigger"]
    assert "unknown trigger 'nope'" in errors["custom_trigger"][0]
    assert "vaccination_due" in errors["custom_trigger"][0]  # the known ones are listed
    errors = errors_of(pm.AutomatedSequence(name="x", trigger_type="custom"))
    assert "custom_trigger" in errors


def test_an_unknown_trigger_type_or_goal_is_refused():
    assert "trigger_type" in errors_of(pm.AutomatedSequence(name="x", trigger_type="teleport"))
    errors = errors_of(
        pm.AutomatedSequence(name="x", trigger_type="signup", goal_trigger="vaccination_due")
    )
    assert errors["goal_trigger"] == ["trigger 'vaccination_due' is scheduled, not event"]
    errors = errors_of(pm.AutomatedSequence(name="x", trigger_type="signup", goal_trigger="nah"))
    assert "unknown trigger 'nah'" in errors["goal_trigger"][0]


@pytest.mark.parametrize(
    ("trigger", "conditions", "expected"),
    [
        ("purchase", {"min_amount": "lots"}, ["min_amount: must be a number, got 'lots'"]),
        ("purchase", {"min_amount": True}, ["min_amount: must be a number, got True"]),
        ("inactivity", {"days": 9.5}, ["days: must be a whole number, got 9.5"]),
        ("inactivity", {"days": -1}, ["days: must be from 0 to 100000"]),
        (
            "inactivity",
            {"dayz": 30, "days": "30"},
            [
                "dayz: unknown condition for trigger 'inactivity'; known: days",
                "days: must be a whole number, got '30'",
            ],
        ),
        (
            "signup",
            {"min_amount": 3},
            ["min_amount: unknown condition for trigger 'signup'; known: none"],
        ),
        ("inactivity", [30], ["must be an object of conditions, got list"]),
    ],
)
def test_trigger_conditions_of_the_wrong_type_or_unknown_key(trigger, conditions, expected):
    sequence = pm.AutomatedSequence(name="x", trigger_type=trigger, trigger_conditions=conditions)
    assert errors_of(sequence) == {"trigger_conditions": expected}


def test_valid_conditions_pass():
    pm.AutomatedSequence(
        name="x", trigger_type="purchase", trigger_conditions={"min_amount": 10}
    ).full_clean()
    pm.AutomatedSequence(
        name="x", trigger_type="inactivity", trigger_conditions={"days": 60}
    ).full_clean()


def test_an_unknown_skip_condition_is_refused_naming_it():
    sequence = SequenceFactory()
    step = pm.SequenceStep(
        sequence=sequence,
        step_number=1,
        subject="s",
        html_content="<p>x</p>",
        skip_if={"already_purchased": True, "is_vip": True},
    )
    errors = errors_of(step)
    assert list(errors) == ["skip_if"]
    [message] = errors["skip_if"]
    assert message.startswith("is_vip: unknown skip condition; known: ")
    assert "already_purchased" in message
    step.skip_if = ["already_purchased"]
    assert errors_of(step)["skip_if"] == ["must be an object of skip conditions, got list"]


# --- steps -----------------------------------------------------------------------------


def test_duplicate_step_numbers_are_refused():
    sequence = make_sequence(2)
    duplicate = pm.SequenceStep(sequence=sequence, step_number=2, subject="s", html_content="x")
    assert "__all__" in errors_of(duplicate)  # the unique constraint, at validation
    with pytest.raises(IntegrityError), transaction.atomic():
        duplicate.save()


@translation.override("en")  # the messages are translatable; checked in English here
def test_step_numbers_with_gaps_or_a_step_zero_are_refused_for_the_sequence():
    sequence = SequenceFactory()
    for number in (1, 2, 4, 7):
        StepFactory(sequence=sequence, step_number=number)
    with pytest.raises(ValidationError) as info:
        validate_steps(sequence)
    assert info.value.message_dict == {"step_number": ["step numbers have gaps; missing: 3, 5, 6"]}
    zero = pm.SequenceStep(sequence=sequence, step_number=0, subject="s", html_content="<p>x</p>")
    assert errors_of(zero)["step_number"] == ["step numbers start at 1"]
    unsaved = [pm.SequenceStep(step_number=n) for n in (0, 1, 1, 2)]
    assert step_errors(unsaved) == {
        "step_number": ["step numbers used more than once: 1", "step numbers start at 1"]
    }
    assert step_errors([pm.SequenceStep(step_number=n) for n in (1, 2, 3)]) == {}
    validate_steps(make_sequence(3))


@translation.override("en")
def test_negative_delays_are_refused():
    sequence = SequenceFactory()
    step = pm.SequenceStep(
        sequence=sequence,
        step_number=1,
        delay_days=-1,
        delay_hours=-2,
        subject="s",
        html_content="<p>x</p>",
    )
    errors = errors_of(step)
    assert "delay_days" in errors and "delay_hours" in errors
    assert step_errors([step]) == {
        "delay_days": ["must not be negative (step 1)"],
        "delay_hours": ["must not be negative (step 1)"],
    }
    with pytest.raises(IntegrityError), transaction.atomic():
        step.save()  # and the database refuses it too


# --- host code that raises -------------------------------------------------------------


def test_a_skip_condition_that_raises_pauses_only_its_sequence():
    def broken(value):
        raise RuntimeError("the CRM is down")

    with skip_conditions.temporarily("crm_vip", broken):
        bad = make_sequence([{"skip_if": {"crm_vip": True}}], name="mala")
        good = make_sequence(1, name="buena")
        sub = SubscriptionFactory()
        for seq in (bad, good):
            enroll(seq, pm.NewsletterSubscription.objects.filter(pk=sub.pk), now=T0)
        run = process(now=T0)
    assert run.totals["paused"] == 1
    assert "the CRM is down" in run.sequences[bad.pk].error
    bad.refresh_from_db()
    assert not bad.is_active
    assert "RuntimeError: the CRM is down" in bad.paused_reason
    assert subjects_to(sub.email) == ["Paso 1"]  # the good one's
    assert not pm.EmailSend.objects.filter(sequence_step__sequence=bad).exists()


def test_a_skip_condition_whose_query_fails_pauses_only_its_sequence():
    with skip_conditions.temporarily("typo", lambda value: Q(no_such_field=1)):
        bad = make_sequence([{"skip_if": {"typo": True}}], name="mala")
        good = make_sequence(1, name="buena")
        sub = SubscriptionFactory(owner=OwnerFactory())
        for seq in (bad, good):
            enroll(seq, pm.NewsletterSubscription.objects.filter(pk=sub.pk), now=T0)
        process(now=T0)
    bad.refresh_from_db()
    assert not bad.is_active and "no_such_field" in bad.paused_reason
    assert subjects_to(sub.email) == ["Paso 1"]


def test_a_scheduled_trigger_that_raises_pauses_only_its_sequence():
    def broken(sequence, now):
        raise ValueError("bad feed")

    with sequence_triggers.temporarily("feed", broken, kind="scheduled"):
        bad = make_sequence(1, trigger_type="custom", custom_trigger="feed")
        good = make_sequence(1, trigger_type="signup")
        sub = SubscriptionFactory()
        enroll(good, pm.NewsletterSubscription.objects.filter(pk=sub.pk), now=T0)
        run = process(now=T0)
    assert run.sequences[bad.pk].error == "ValueError: bad feed"
    bad.refresh_from_db()
    assert (bad.is_active, bad.paused_reason) == (False, "ValueError: bad feed")
    assert subjects_to(sub.email) == ["Paso 1"]


def test_an_event_matcher_that_raises_pauses_only_its_sequence():
    def broken(sequence, data):
        raise KeyError("species")

    with sequence_triggers.temporarily("adopted", broken, kind="event"):
        bad = make_sequence(1, trigger_type="custom", custom_trigger="adopted")
        good = make_sequence(1, trigger_type="signup")
        sub = SubscriptionFactory()
        result = django_petmail.trigger("adopted", sub)  # the caller is not broken
    assert result.enrolled == {}
    assert "KeyError" in result.failed[bad.pk]
    bad.refresh_from_db()
    assert not bad.is_active and "trigger 'adopted' failed" in bad.paused_reason
    assert django_petmail.trigger("signup", sub).enrolled == {good.pk: 1}


# --- trigger() -------------------------------------------------------------------------


def test_trigger_refuses_an_unknown_or_scheduled_name():
    sub = SubscriptionFactory()
    with pytest.raises(ValueError, match=r"^name: unknown trigger 'purchse'"):
        django_petmail.trigger("purchse", sub)
    with pytest.raises(ValueError, match=r"^name: trigger 'birthday' is scheduled, not event"):
        django_petmail.trigger("birthday", sub)


@pytest.mark.parametrize("recipient", [None, "ana@example.com", 42, pm.AutomatedSequence()])
def test_trigger_refuses_a_recipient_of_the_wrong_type(recipient):
    with pytest.raises(TypeError, match=r"^recipient: give an owner or a NewsletterSubscription"):
        django_petmail.trigger("purchase", recipient)


def test_trigger_refuses_a_recipient_without_an_address():
    make_sequence(1, trigger_type="purchase")
    with pytest.raises(ValueError, match=r"^recipient: the subscription is not saved"):
        django_petmail.trigger("purchase", pm.NewsletterSubscription(email="a@example.com"))
    blank = SubscriptionFactory()
    pm.NewsletterSubscription.objects.filter(pk=blank.pk).update(email="")
    blank.refresh_from_db()
    with pytest.raises(ValueError, match=r"^recipient: the subscription has no email address"):
        django_petmail.trigger("purchase", blank)
    with pytest.raises(ValueError, match=r"^recipient: the owner has no email address"):
        django_petmail.trigger("purchase", OwnerFactory(email=""))
    assert not pm.SequenceEnrollment.objects.exists()


@pytest.mark.parametrize(
    "data",
    [
        {"pet": object()},
        {"amounts": {1, 2}},
        {"amount": float("nan")},
        {"amount": float("inf")},
        {"raw": b"\x00bytes"},
    ],
    ids=["object", "set", "nan", "inf", "bytes"],
)
def test_trigger_refuses_data_that_is_not_json(data):
    make_sequence(1, trigger_type="purchase")
    with pytest.raises(ValueError, match=r"^data: cannot be stored as JSON"):
        django_petmail.trigger("purchase", SubscriptionFactory(), **data)
    assert not pm.SequenceEnrollment.objects.exists()


def test_trigger_keeps_decimals_and_dates_as_text():
    seq = make_sequence(1, trigger_type="purchase", trigger_conditions={"min_amount": 50})
    sub = SubscriptionFactory()
    result = django_petmail.trigger(
        "purchase", sub, amount=Decimal("59.90"), on=date(2026, 2, 2), at=T0
    )
    assert result.enrolled == {seq.pk: 1}
    assert pm.SequenceEnrollment.objects.get().context == {
        "amount": "59.90",
        "on": "2026-02-02",
        "at": "2026-02-02T09:00:00+00:00",
    }


def test_trigger_refuses_data_over_the_size_bound():
    make_sequence(1, trigger_type="purchase")
    sub = SubscriptionFactory()
    with pytest.raises(ValueError, match=rf"^data: \d+ bytes; at most {MAX_CONTEXT_BYTES}"):
        django_petmail.trigger("purchase", sub, note="x" * MAX_CONTEXT_BYTES)
    django_petmail.trigger("purchase", sub, note="x" * (MAX_CONTEXT_BYTES - 20))
    assert pm.SequenceEnrollment.objects.count() == 1


def test_a_later_run_does_not_resume_a_paused_sequence():
    seq = make_sequence([{}, {"delay_days": 1}])
    sub = SubscriptionFactory()
    enroll(seq, pm.NewsletterSubscription.objects.filter(pk=sub.pk), now=T0)
    process(now=T0)
    with skip_conditions.temporarily("boom", lambda v: 1 / 0):
        pm.SequenceStep.objects.filter(sequence=seq, step_number=2).update(skip_if={"boom": 1})
        process(now=T0 + timedelta(days=1))
    seq.refresh_from_db()
    assert "ZeroDivisionError" in seq.paused_reason
    process(now=T0 + timedelta(days=2))
    assert subjects_to(sub.email) == ["Paso 1"]
