"""The brief's test case "sequence enrollment": every trigger kind enrolls whom it should,
under the sequence's rules (active, segment, topic, suppression, marketing or service) and
its re-entry policy; a segment is enrolled by hand in one call."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

import django_petmail
from clinic.models import Vaccination
from django_petmail import models as pm
from django_petmail.sequences.enrollment import enroll, enroll_segment
from django_petmail.sequences.progression import process
from django_petmail.sequences.registry import sequence_triggers
from django_petmail.subscriptions import ConfirmOutcome, confirm
from tests.factories import (
    OwnerFactory,
    PetFactory,
    SegmentFactory,
    SendFactory,
    SubscriptionFactory,
)
from tests.sequence_utils import make_sequence, subjects_to

pytestmark = pytest.mark.django_db


def enrolled(sequence):
    return set(
        pm.SequenceEnrollment.objects.filter(sequence=sequence).values_list(
            "subscription_id", flat=True
        )
    )


# --- event triggers --------------------------------------------------------------------


def test_confirming_a_subscription_enrolls_it_in_the_signup_sequence():
    welcome = make_sequence(2, trigger_type="signup")
    sub = SubscriptionFactory(status=pm.SubscriptionStatus.PENDING, confirmed_at=None)
    assert enrolled(welcome) == set()  # pending: not yet

    assert confirm(sub) is ConfirmOutcome.CONFIRMED
    assert enrolled(welcome) == {sub.pk}
    assert confirm(sub) is ConfirmOutcome.ALREADY_CONFIRMED  # a replay enrolls nobody again
    assert pm.SequenceEnrollment.objects.filter(sequence=welcome).count() == 1

    process(now=timezone.now())
    assert subjects_to(sub.email) == ["Paso 1"]


def test_purchase_and_appointment_enroll_an_owner_or_a_subscription():
    after_purchase = make_sequence(trigger_type="purchase")
    after_visit = make_sequence(trigger_type="appointment")
    owner = OwnerFactory()
    owned = SubscriptionFactory(owner=owner)
    bare = SubscriptionFactory()

    result = django_petmail.trigger("purchase", owner, order=17, amount=30)
    assert result.enrolled == {after_purchase.pk: 1}
    assert django_petmail.trigger("appointment", bare).enrolled == {after_visit.pk: 1}

    assert enrolled(after_purchase) == {owned.pk}
    assert enrolled(after_visit) == {bare.pk}
    enrollment = pm.SequenceEnrollment.objects.get(sequence=after_purchase)
    assert enrollment.owner_id == owner.pk
    assert enrollment.context == {"order": 17, "amount": 30}


def test_an_owner_who_never_subscribed_is_not_enrolled():
    make_sequence(trigger_type="purchase")
    result = django_petmail.trigger("purchase", OwnerFactory())
    assert result.enrolled == {}
    assert not pm.SequenceEnrollment.objects.exists()


def test_min_amount_condition_of_purchase():
    big_spenders = make_sequence(trigger_type="purchase", trigger_conditions={"min_amount": 100})
    small = SubscriptionFactory()
    big = SubscriptionFactory()

    assert django_petmail.trigger("purchase", small, amount=99.99).enrolled == {}
    assert django_petmail.trigger("purchase", small).enrolled == {}  # no amount at all
    assert django_petmail.trigger("purchase", big, amount="100").enrolled == {big_spenders.pk: 1}
    assert enrolled(big_spenders) == {big.pk}


def test_custom_event_trigger_registered_by_the_host():
    seen = []

    def adopted(sequence, data):
        seen.append(dict(data))
        return data.get("species") == (sequence.trigger_conditions or {}).get("species")

    with sequence_triggers.temporarily(
        "pet_adopted", adopted, kind="event", conditions={"species": str}
    ):
        dogs = make_sequence(
            trigger_type="custom",
            custom_trigger="pet_adopted",
            trigger_conditions={"species": "dog"},
        )
        dogs.full_clean()
        cat_person, dog_person = SubscriptionFactory(), SubscriptionFactory()
        assert django_petmail.trigger("pet_adopted", cat_person, species="cat").enrolled == {}
        assert django_petmail.trigger("pet_adopted", dog_person, species="dog").enrolled == {
            dogs.pk: 1
        }
    assert seen == [{"species": "cat"}, {"species": "dog"}]
    assert enrolled(dogs) == {dog_person.pk}


def test_trigger_fired_signal_is_the_same_as_trigger():
    seq = make_sequence(trigger_type="appointment")
    sub = SubscriptionFactory()
    django_petmail.signals.trigger_fired.send(None, name="appointment", recipient=sub, data={})
    assert enrolled(seq) == {sub.pk}


# --- scheduled triggers ----------------------------------------------------------------


def test_vaccination_due_enrolls_owners_within_days_before_when_process_runs():
    now = timezone.now()
    reminder = make_sequence(
        trigger_type="vaccination_due", trigger_conditions={"days_before": 7}, is_marketing=False
    )
    soon, later, done = OwnerFactory(), OwnerFactory(), OwnerFactory()
    subs = {o.pk: SubscriptionFactory(owner=o) for o in (soon, later, done)}
    for owner, days, administered in ((soon, 5, None), (later, 20, None), (done, 3, now.date())):
        Vaccination.objects.create(
            pet=PetFactory(owner=owner),
            vaccine="Rabia",
            due_date=now.date() + timedelta(days=days),
            administered_at=administered,
        )

    run = process(now=now)

    assert run.sequences[reminder.pk].enrolled == 1
    assert enrolled(reminder) == {subs[soon.pk].pk}
    assert subjects_to(subs[soon.pk].email) == ["Paso 1"]
    # the next day the same owner is found again and not enrolled twice (re-entry: never)
    assert process(now=now + timedelta(days=1)).sequences[reminder.pk].enrolled == 0
    # thirteen days later the other vaccination is within 7 days
    assert process(now=now + timedelta(days=14)).sequences[reminder.pk].enrolled == 1
    assert enrolled(reminder) == {subs[soon.pk].pk, subs[later.pk].pk}


def test_inactivity_enrolls_subscribers_mailed_before_the_window_who_never_engaged():
    now = timezone.now()
    winback = make_sequence(trigger_type="inactivity", trigger_conditions={"days": 90})
    asleep = SendFactory(sent_at=now - timedelta(days=120), status="sent").subscription
    opened = SendFactory(
        sent_at=now - timedelta(days=120), opened_at=now - timedelta(days=10), status="opened"
    ).subscription
    recent = SendFactory(sent_at=now - timedelta(days=5), status="sent").subscription
    never_mailed = SubscriptionFactory()

    run = process(now=now)

    assert run.sequences[winback.pk].enrolled == 1
    assert enrolled(winback) == {asleep.pk}
    assert subjects_to(asleep.email) == ["Paso 1"]
    for other in (opened, recent, never_mailed):
        assert subjects_to(other.email) == []


# --- who may enter ---------------------------------------------------------------------


def test_a_segment_gates_entry():
    vips = SegmentFactory(
        rules={
            "operator": "AND",
            "conditions": [{"field": "email", "op": "contains", "value": "vip"}],
        }
    )
    seq = make_sequence(trigger_type="signup", segment=vips)
    vip = SubscriptionFactory(email="vip@example.com")
    other = SubscriptionFactory(email="other@example.com")
    assert django_petmail.trigger("signup", other).enrolled == {seq.pk: 0}
    assert django_petmail.trigger("signup", vip).enrolled == {seq.pk: 1}
    assert enrolled(seq) == {vip.pk}


def test_a_marketing_sequence_with_a_topic_reaches_only_who_chose_it():
    seq = make_sequence(trigger_type="signup", topic="news")
    chose = SubscriptionFactory(topics=["news"])
    did_not = SubscriptionFactory(topics=["promotions"])
    for sub in (chose, did_not):
        django_petmail.trigger("signup", sub)
    assert enrolled(seq) == {chose.pk}


def test_marketing_rules_refuse_unsubscribed_paused_and_suppressed():
    seq = make_sequence(trigger_type="appointment")
    ok = SubscriptionFactory()
    left = SubscriptionFactory(status=pm.SubscriptionStatus.UNSUBSCRIBED)
    paused = SubscriptionFactory(is_paused=True)
    suppressed = SubscriptionFactory()
    pm.Suppression.objects.create(email_hash=suppressed.email_hash, reason="manual")
    for sub in (ok, left, paused, suppressed):
        django_petmail.trigger("appointment", sub)
    assert enrolled(seq) == {ok.pk}


def test_a_service_sequence_reaches_the_unsubscribed_but_never_the_bounced_or_suppressed():
    reminder = make_sequence(trigger_type="appointment", is_marketing=False)
    left = SubscriptionFactory(status=pm.SubscriptionStatus.UNSUBSCRIBED)
    bounced = SubscriptionFactory(status=pm.SubscriptionStatus.BOUNCED)
    complained = SubscriptionFactory(status=pm.SubscriptionStatus.COMPLAINED)
    suppressed = SubscriptionFactory(status=pm.SubscriptionStatus.UNSUBSCRIBED)
    pm.Suppression.objects.create(email_hash=suppressed.email_hash, reason="bounced")
    never_confirmed = SubscriptionFactory(
        status=pm.SubscriptionStatus.UNSUBSCRIBED, confirmed_at=None
    )
    for sub in (left, bounced, complained, suppressed, never_confirmed):
        django_petmail.trigger("appointment", sub)
    assert enrolled(reminder) == {left.pk}

    process(now=timezone.now())
    assert [m.to for m in mail.outbox] == [[left.email]]


def test_an_inactive_sequence_enrolls_nobody():
    seq = make_sequence(trigger_type="signup", is_active=False)
    scheduled = make_sequence(trigger_type="inactivity", is_active=False)
    SendFactory(sent_at=timezone.now() - timedelta(days=400), status="sent")
    assert django_petmail.trigger("signup", SubscriptionFactory()).enrolled == {}
    process(now=timezone.now())
    assert not pm.SequenceEnrollment.objects.filter(sequence__in=[seq, scheduled]).exists()


# --- re-entry --------------------------------------------------------------------------


def cycles(sequence, sub):
    return list(
        pm.SequenceEnrollment.objects.filter(sequence=sequence, subscription=sub)
        .order_by("cycle")
        .values_list("cycle", "status")
    )


def finish(now):
    """Run the sequences until their single step is sent and the enrollment completes."""
    process(now=now)
    process(now=now + timedelta(minutes=1))


def test_reentry_never_enrolls_once_forever():
    seq = make_sequence(trigger_type="purchase")  # reentry defaults to never
    sub = SubscriptionFactory()
    assert django_petmail.trigger("purchase", sub).enrolled == {seq.pk: 1}
    assert django_petmail.trigger("purchase", sub).enrolled == {seq.pk: 0}
    finish(timezone.now())
    assert cycles(seq, sub) == [(0, "completed")]
    assert django_petmail.trigger("purchase", sub).enrolled == {seq.pk: 0}
    assert cycles(seq, sub) == [(0, "completed")]


def test_reentry_after_completion_waits_for_the_running_enrollment():
    seq = make_sequence(trigger_type="purchase", reentry="after_completion")
    sub = SubscriptionFactory()
    assert django_petmail.trigger("purchase", sub).enrolled == {seq.pk: 1}
    assert django_petmail.trigger("purchase", sub).enrolled == {seq.pk: 0}  # still running
    finish(timezone.now())
    assert django_petmail.trigger("purchase", sub).enrolled == {seq.pk: 1}
    assert cycles(seq, sub) == [(0, "completed"), (1, "active")]
    finish(timezone.now() + timedelta(minutes=5))
    assert subjects_to(sub.email) == ["Paso 1", "Paso 1"]
    assert cycles(seq, sub) == [(0, "completed"), (1, "completed")]


def test_reentry_waits_out_the_cooldown_after_the_last_entry():
    seq = make_sequence(trigger_type="purchase", reentry="after_completion")
    pm.AutomatedSequence.objects.filter(pk=seq.pk).update(reentry_cooldown_days=30)
    seq.refresh_from_db()
    sub = SubscriptionFactory()
    start = timezone.now()
    assert pm.SequenceEnrollment.objects.count() == 0
    django_petmail.trigger("purchase", sub)
    finish(start)
    assert cycles(seq, sub) == [(0, "completed")]
    one = pm.NewsletterSubscription.objects.filter(pk=sub.pk)
    assert enroll(seq, one, now=start + timedelta(days=29)) == 0  # within the wait
    assert enroll(seq, one, now=start + timedelta(days=31)) == 1
    assert cycles(seq, sub) == [(0, "completed"), (1, "active")]


def test_reentry_always_restarts_with_one_running_enrollment():
    seq = make_sequence([{}, {"delay_days": 3}], trigger_type="purchase", reentry="always")
    sub = SubscriptionFactory()
    django_petmail.trigger("purchase", sub)
    now = timezone.now()
    process(now=now)
    first = pm.SequenceEnrollment.objects.get(sequence=seq, cycle=0)
    step_two = pm.EmailSend.objects.filter(enrollment=first)
    assert django_petmail.trigger("purchase", sub).enrolled == {seq.pk: 1}
    assert django_petmail.trigger("purchase", sub).enrolled == {seq.pk: 1}

    assert cycles(seq, sub) == [(0, "cancelled"), (1, "cancelled"), (2, "active")]
    assert pm.SequenceEnrollment.objects.get(cycle=0).cancelled_reason == "re-entered"
    assert step_two.count() == 1  # step 1 was sent; nothing of cycle 0 goes out any more
    process(now=now + timedelta(minutes=1))
    process(now=now + timedelta(days=4))
    assert subjects_to(sub.email) == ["Paso 1", "Paso 1", "Paso 2"]


# --- manual ----------------------------------------------------------------------------


def test_enroll_segment_enrolls_its_eligible_members_in_one_call(django_assert_max_num_queries):
    seq = make_sequence(trigger_type="signup")
    segment = SegmentFactory(
        rules={
            "operator": "AND",
            "conditions": [{"field": "language", "op": "eq", "value": "en"}],
        }
    )
    members = [SubscriptionFactory(language="en") for _ in range(30)]
    SubscriptionFactory(language="es")
    SubscriptionFactory(language="en", status=pm.SubscriptionStatus.UNSUBSCRIBED)

    with django_assert_max_num_queries(6):
        assert enroll_segment(seq, segment) == 30
    assert enrolled(seq) == {m.pk for m in members}
    assert enroll_segment(seq, segment) == 0  # again: nobody twice
    process(now=timezone.now())
    assert len(mail.outbox) == 30


@pytest.mark.parametrize("reentry", ["always", "after_completion"])
def test_a_scheduled_trigger_that_still_matches_does_not_restart_a_running_enrollment(reentry):
    now = timezone.now()
    winback = make_sequence([{}, {"delay_days": 2}], trigger_type="inactivity", reentry=reentry)
    asleep = SendFactory(sent_at=now - timedelta(days=120), status="sent").subscription
    for minutes in range(3):  # the beat runs every minute; asleep is still inactive
        process(now=now + timedelta(minutes=minutes))
    assert subjects_to(asleep.email) == ["Paso 1"]
    assert cycles(winback, asleep) == [(0, "active")]
    process(now=now + timedelta(days=2, minutes=1))
    assert subjects_to(asleep.email) == ["Paso 1", "Paso 2"]
