"""The example clinic fires ``purchase`` and ``appointment`` from its own models, and its
scheduled triggers declare the conditions they accept."""

import logging
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from clinic.models import AppointmentStatus, OrderStatus
from django_petmail import models as pm
from django_petmail import signals
from django_petmail.sequences.registry import condition_errors, sequence_triggers
from tests.factories import (
    AppointmentFactory,
    OrderFactory,
    OwnerFactory,
    SequenceFactory,
    SubscriptionFactory,
)

pytestmark = pytest.mark.django_db


def _subscribed_owner():
    owner = OwnerFactory()
    SubscriptionFactory(owner=owner, email=owner.email)
    return owner


def test_scheduled_triggers_declare_their_conditions():
    declared = {
        name: sequence_triggers.get_entry(name).meta["conditions"]
        for name in ("vaccination_due", "abandoned_cart", "birthday")
    }
    assert declared == {
        "vaccination_due": {"days_before": int},
        "abandoned_cart": {"hours": int},
        "birthday": {},
    }
    assert condition_errors("vaccination_due", {"days_before": 14}) == []
    assert condition_errors("vaccination_due", {"days_before": "14"}) == [
        "days_before: must be a whole number, got '14'"
    ]
    assert condition_errors("abandoned_cart", {"hours": 4}) == []
    assert condition_errors("birthday", {"days_before": 3})[0].startswith("days_before: unknown")
    sequence = SequenceFactory.build(trigger_type="abandoned_cart", trigger_conditions={"hour": 4})
    with pytest.raises(ValidationError, match="hour: unknown condition"):
        sequence.clean()


def test_completed_order_fires_purchase_once(catch_signal):
    calls = catch_signal(signals.enrolled)
    sequence = SequenceFactory(trigger_type="purchase", name="Gracias por tu compra")
    owner = _subscribed_owner()
    order = OrderFactory(owner=owner, status=OrderStatus.PENDING, total=Decimal("42.50"))
    assert not pm.SequenceEnrollment.objects.exists()
    order.status = OrderStatus.COMPLETED
    order.save()
    enrollment = pm.SequenceEnrollment.objects.get()
    assert enrollment.sequence == sequence
    assert enrollment.context == {"amount": 42.5, "order": order.pk}
    assert [c["trigger"] for c in calls] == ["purchase"]
    order.save()  # saved again while completed: no new event
    order.total = Decimal("50")
    order.save()
    assert len(calls) == 1


def test_order_created_completed_fires_and_refund_does_not():
    SequenceFactory(trigger_type="purchase", reentry="always")
    owner = _subscribed_owner()
    order = OrderFactory(owner=owner)  # created completed
    assert pm.SequenceEnrollment.objects.count() == 1
    order.status = OrderStatus.REFUNDED
    order.save()
    assert pm.SequenceEnrollment.objects.count() == 1
    order.status = OrderStatus.COMPLETED  # completed again: a new transition, a new event
    order.save()
    assert pm.SequenceEnrollment.objects.count() == 2


def test_purchase_is_the_goal_of_a_running_sequence():
    welcome = SequenceFactory(trigger_type="signup", goal_trigger="purchase")
    owner = _subscribed_owner()
    subscription = pm.NewsletterSubscription.objects.get(owner=owner)
    pm.SequenceEnrollment.objects.create(sequence=welcome, owner=owner, subscription=subscription)
    OrderFactory(owner=owner, status=OrderStatus.COMPLETED)
    assert pm.SequenceEnrollment.objects.get().status == "converted"


def test_min_amount_condition_of_purchase():
    SequenceFactory(trigger_type="purchase", trigger_conditions={"min_amount": 100.0})
    owner = _subscribed_owner()
    OrderFactory(owner=owner, total=Decimal("99.99"))
    assert not pm.SequenceEnrollment.objects.exists()
    OrderFactory(owner=owner, total=Decimal("150"))
    assert pm.SequenceEnrollment.objects.count() == 1


def test_completed_appointment_fires_appointment():
    sequence = SequenceFactory(trigger_type="appointment")
    owner = _subscribed_owner()
    visit = AppointmentFactory(owner=owner, status=AppointmentStatus.SCHEDULED)
    visit.status = AppointmentStatus.CANCELLED
    visit.save()
    assert not pm.SequenceEnrollment.objects.exists()
    visit.status = AppointmentStatus.COMPLETED
    visit.save()
    enrollment = pm.SequenceEnrollment.objects.get()
    assert enrollment.sequence == sequence
    assert enrollment.context == {"appointment": visit.pk, "pet": None}


def test_owner_without_subscription_is_not_enrolled():
    SequenceFactory(trigger_type="purchase")
    order = OrderFactory()
    assert order.pk and not pm.SequenceEnrollment.objects.exists()


def test_a_petmail_error_never_breaks_the_clinics_save(monkeypatch, caplog):
    import django_petmail

    def broken(*args, **kwargs):
        raise RuntimeError("petmail is down")

    monkeypatch.setattr(django_petmail, "trigger", broken)
    owner = _subscribed_owner()
    with caplog.at_level(logging.ERROR, logger="clinic.receivers"):
        order = OrderFactory(owner=owner)
        visit = AppointmentFactory(owner=owner)
    assert order.pk and visit.pk
    assert "petmail trigger 'purchase' failed" in caplog.text
    assert "petmail trigger 'appointment' failed" in caplog.text


def test_owner_without_address_is_logged_not_raised(caplog):
    owner = OwnerFactory(email="")
    with caplog.at_level(logging.ERROR, logger="clinic.receivers"):
        order = OrderFactory(owner=owner)
    assert order.pk
    assert "no email address" in caplog.text


def test_fixtures_and_raw_saves_do_not_fire():
    from clinic.models import Order
    from clinic.receivers import fire_on_completion, remember_status

    SequenceFactory(trigger_type="purchase")
    owner = _subscribed_owner()
    order = OrderFactory.build(owner=owner)
    remember_status(Order, order, raw=True)
    fire_on_completion(Order, order, created=True, raw=True)
    assert not pm.SequenceEnrollment.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_demo_sequences_step_enrolls_converts_and_reports():
    from io import StringIO

    from clinic.demo import sequences_step
    from django_petmail.models import NewsletterSubscription

    owners = [OwnerFactory() for _ in range(6)]
    for owner in owners:
        SubscriptionFactory(owner=owner, email=owner.email, status="pending")
    command = type("Command", (), {"stdout": StringIO(), "stderr": StringIO()})()
    lines = sequences_step(command, {})
    text = "\n".join(lines)
    assert "confirmed             6" in text
    assert NewsletterSubscription.objects.filter(status="active").count() == 6
    welcome = pm.AutomatedSequence.objects.get(name="Bienvenida (demo)")
    statuses = set(welcome.enrollments.values_list("status", flat=True))
    assert statuses == {"completed", "converted"}
    assert welcome.steps.get(step_number=1).sent_count == 6
    # one send per step per enrollment, whatever the number of runs
    assert pm.EmailSend.objects.filter(sequence_step__sequence=welcome).count() == sum(
        welcome.steps.values_list("sent_count", flat=True)
    )
