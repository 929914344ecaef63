"""The brief's test case "step progression", over simulated time (every run is given its
``now``): delays, local send times across DST changes, skips, completion, the goal exit,
suppression mid-sequence, pause/resume/cancel, per-step statistics, view online, and
exactly-once sending whatever runs twice or crashes half-way."""

from datetime import UTC, datetime, time, timedelta
from urllib.parse import urlsplit

import pytest
from django.core import mail

import django_petmail
from clinic.models import Order, OrderStatus
from django_petmail import models as pm
from django_petmail.links import view_online_url
from django_petmail.sequences import enrollment as enrollments
from django_petmail.sequences.enrollment import enroll
from django_petmail.sequences.progression import SKIPPED_BY_CONDITION, _create_sends, process
from django_petmail.subscriptions import stop_mail, unsubscribe
from django_petmail.tracking.events import Incoming, record
from tests.factories import OwnerFactory, SequenceFactory, StepFactory, SubscriptionFactory
from tests.sequence_utils import enrollment_of, make_sequence, step, subjects_to

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 1, 12, 8, 0, tzinfo=UTC)  # a Monday in winter


def enroll_at(sequence, sub, when):
    return enroll(sequence, pm.NewsletterSubscription.objects.filter(pk=sub.pk), now=when)


def due(sequence, sub):
    return enrollment_of(sequence, sub).next_send_at


# --- delays ----------------------------------------------------------------------------


def test_first_delay_counts_from_enrollment_the_next_from_the_previous_step():
    seq = make_sequence(
        [{"delay_hours": 2}, {"delay_days": 1, "delay_hours": 6}, {"delay_days": 3}]
    )
    sub = SubscriptionFactory()
    enroll_at(seq, sub, T0)

    process(now=T0 + timedelta(hours=1))  # a beat run before the first step is due
    assert subjects_to(sub.email) == []
    process(now=T0 + timedelta(hours=2))
    assert subjects_to(sub.email) == ["Paso 1"]
    second = T0 + timedelta(hours=2) + timedelta(days=1, hours=6)
    assert due(seq, sub) == second
    process(now=second - timedelta(seconds=1))
    assert subjects_to(sub.email) == ["Paso 1"]
    process(now=second)
    assert subjects_to(sub.email) == ["Paso 1", "Paso 2"]
    process(now=second + timedelta(days=2, hours=23))
    assert len(subjects_to(sub.email)) == 2
    process(now=second + timedelta(days=3))
    assert subjects_to(sub.email) == ["Paso 1", "Paso 2", "Paso 3"]
    assert enrollment_of_any(seq, sub).status == "completed"


def enrollment_of_any(sequence, sub):
    return pm.SequenceEnrollment.objects.get(sequence=sequence, subscription=sub)


def test_a_late_run_sends_a_due_step_at_once_and_counts_the_next_delay_from_then():
    seq = make_sequence([{"delay_days": 1}, {"delay_days": 1}])
    sub = SubscriptionFactory()
    enroll_at(seq, sub, T0)
    late = T0 + timedelta(days=1, hours=5)  # the beat was down for five hours
    process(now=late)
    assert subjects_to(sub.email) == ["Paso 1"]
    assert due(seq, sub) == late + timedelta(days=1)


# --- local time of day -----------------------------------------------------------------


def local(sequence, sub, zone):
    from zoneinfo import ZoneInfo

    return due(sequence, sub).astimezone(ZoneInfo(zone))


def test_send_time_is_the_subscribers_local_time():
    seq = make_sequence([{"send_time": time(9, 0)}, {"delay_days": 1, "send_time": time(9, 0)}])
    tokyo = SubscriptionFactory(timezone="Asia/Tokyo")
    new_york = SubscriptionFactory(timezone="America/New_York")
    for sub in (tokyo, new_york):
        enroll_at(seq, sub, T0)  # 08:00 UTC: 17:00 in Tokyo, 03:00 in New York
    process(now=T0)
    assert due(seq, tokyo) == datetime(2026, 1, 13, 0, 0, tzinfo=UTC)  # tomorrow 09:00 JST
    assert due(seq, new_york) == datetime(2026, 1, 12, 14, 0, tzinfo=UTC)  # today 09:00 EST
    process(now=datetime(2026, 1, 12, 14, 0, tzinfo=UTC))
    assert subjects_to(new_york.email) == ["Paso 1"]
    assert subjects_to(tokyo.email) == []
    # the second step: a day later, again at 09:00 in New York
    assert due(seq, new_york) == datetime(2026, 1, 13, 14, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("start", "expected_utc"),
    [
        # spring forward (Sunday 29 March 2026, 02:00 CET → 03:00 CEST)
        (datetime(2026, 3, 27, 8, 0, tzinfo=UTC), [(3, 28, 8), (3, 29, 7), (3, 30, 7)]),
        # fall back (Sunday 25 October 2026, 03:00 CEST → 02:00 CET)
        (datetime(2026, 10, 23, 7, 0, tzinfo=UTC), [(10, 24, 7), (10, 25, 8), (10, 26, 8)]),
    ],
    ids=["march", "october"],
)
def test_send_time_stays_nine_local_across_a_dst_change(start, expected_utc):
    seq = make_sequence(
        [
            {"delay_days": 1, "send_time": time(9, 0)},
            {"delay_days": 1, "send_time": time(9, 0)},
            {"delay_days": 1, "send_time": time(9, 0)},
        ]
    )
    sub = SubscriptionFactory(timezone="Europe/Madrid")
    enroll_at(seq, sub, start)
    process(now=start)
    sent_at = []
    for month, day, hour in expected_utc:
        expected = datetime(2026, month, day, hour, 0, tzinfo=UTC)
        assert due(seq, sub) == expected
        assert local(seq, sub, "Europe/Madrid").time() == time(9, 0)
        process(now=expected - timedelta(seconds=1))
        assert len(subjects_to(sub.email)) == len(sent_at)
        process(now=expected)
        sent_at.append(expected)
        assert len(subjects_to(sub.email)) == len(sent_at)
        if len(sent_at) < 3:
            continue
    assert enrollment_of_any(seq, sub).status == "completed"


@pytest.mark.parametrize("zone", ["", "Mars/Olympus_Mons"])
def test_no_or_unknown_timezone_falls_back_to_the_site_timezone(settings, zone):
    settings.TIME_ZONE = "Asia/Tokyo"
    seq = make_sequence([{"send_time": time(9, 0)}])
    sub = SubscriptionFactory(timezone=zone)
    enroll_at(seq, sub, T0)  # 17:00 in Tokyo
    process(now=T0)
    assert due(seq, sub) == datetime(2026, 1, 13, 0, 0, tzinfo=UTC)


# --- skip, inactive, completion --------------------------------------------------------


def test_skip_if_skips_the_step_and_the_sequence_goes_on():
    seq = make_sequence(
        [{}, {"delay_days": 1, "skip_if": {"already_purchased": True}}, {"delay_days": 1}]
    )
    buyer, browser = OwnerFactory(), OwnerFactory()
    Order.objects.create(owner=buyer, status=OrderStatus.COMPLETED, total=10)
    Order.objects.create(owner=browser, status=OrderStatus.CANCELLED, total=10)
    bought = SubscriptionFactory(owner=buyer)
    browsing = SubscriptionFactory(owner=browser)
    nobody = SubscriptionFactory()  # no owner: never matches a skip condition
    for sub in (bought, browsing, nobody):
        enroll_at(seq, sub, T0)
    for days in (0, 1, 2):
        run = process(now=T0 + timedelta(days=days))
    assert run.sequences[seq.pk].completed == 3

    assert subjects_to(bought.email) == ["Paso 1", "Paso 3"]
    assert subjects_to(browsing.email) == ["Paso 1", "Paso 2", "Paso 3"]
    assert subjects_to(nobody.email) == ["Paso 1", "Paso 2", "Paso 3"]
    skipped = pm.EmailSend.objects.get(sequence_step=step(seq, 2), subscription=bought)
    assert skipped.status == pm.SendStatus.SKIPPED
    assert skipped.error_message == SKIPPED_BY_CONDITION
    assert step(seq, 2).sent_count == 2
    # step 3 came a day after the skipped step 2, as it would after a sent one
    third = pm.EmailSend.objects.get(sequence_step=step(seq, 3), subscription=bought)
    assert third.created_at == T0 + timedelta(days=2)


def test_a_false_skip_condition_is_off():
    seq = make_sequence([{"skip_if": {"already_purchased": False}}])
    buyer = OwnerFactory()
    Order.objects.create(owner=buyer, status=OrderStatus.COMPLETED, total=10)
    sub = SubscriptionFactory(owner=buyer)
    enroll_at(seq, sub, T0)
    process(now=T0)
    assert subjects_to(sub.email) == ["Paso 1"]


def test_an_inactive_step_is_skipped_and_the_last_step_completes():
    seq = make_sequence(
        [{}, {"delay_days": 1, "is_active": False}, {"delay_days": 2}, {"is_active": False}]
    )
    sub = SubscriptionFactory()
    enroll_at(seq, sub, T0)
    process(now=T0)
    assert due(seq, sub) == T0 + timedelta(days=2)  # the delay of the next active step
    process(now=T0 + timedelta(days=2))
    assert subjects_to(sub.email) == ["Paso 1", "Paso 3"]
    enrollment = enrollment_of_any(seq, sub)
    assert enrollment.status == "completed"
    assert enrollment.completed_at == T0 + timedelta(days=2)
    assert not pm.EmailSend.objects.filter(sequence_step__in=[step(seq, 2), step(seq, 4)]).exists()


# --- goal ------------------------------------------------------------------------------


def test_the_goal_ends_the_enrollment_as_converted_counted_on_the_last_step_sent():
    seq = make_sequence(
        [{}, {"delay_days": 1}, {"delay_days": 1}],
        trigger_type="abandoned_cart",
        goal_trigger="purchase",
    )
    owner = OwnerFactory()
    sub = SubscriptionFactory(owner=owner)
    other = SubscriptionFactory()
    enroll_at(seq, sub, T0)
    enroll_at(seq, other, T0)
    process(now=T0)
    # step 2's send exists and waits (its run crashed before sending), then the owner buys
    due_now = pm.SequenceEnrollment.objects.filter(pk=enrollment_of(seq, sub).pk)
    due_now.update(next_send_at=T0 + timedelta(days=1))
    _create_sends(seq, step(seq, 2), due_now, T0 + timedelta(days=1))

    result = django_petmail.trigger("purchase", owner, amount=20)

    assert result.converted == 1
    enrollment = enrollment_of_any(seq, sub)
    assert enrollment.status == "converted"
    assert enrollment.converted_at is not None
    waiting = pm.EmailSend.objects.get(sequence_step=step(seq, 2), subscription=sub)
    assert waiting.status == pm.SendStatus.CANCELLED
    assert [step(seq, n).goal_count for n in (1, 2, 3)] == [1, 0, 0]
    for days in (1, 2, 3):
        process(now=T0 + timedelta(days=days))
    assert subjects_to(sub.email) == ["Paso 1"]
    assert subjects_to(other.email) == ["Paso 1", "Paso 2", "Paso 3"]
    assert django_petmail.trigger("purchase", owner).converted == 0  # once


def test_a_conversion_is_counted_on_the_last_step_by_number_not_by_row_id():
    seq = SequenceFactory(trigger_type="signup", goal_trigger="purchase")
    StepFactory(sequence=seq, step_number=2, delay_days=1, subject="Dos")  # created first
    StepFactory(sequence=seq, step_number=1, subject="Uno")
    StepFactory(sequence=seq, step_number=3, delay_days=1, subject="Tres")
    sub = SubscriptionFactory()
    enroll_at(seq, sub, T0)
    process(now=T0)
    process(now=T0 + timedelta(days=1))
    assert subjects_to(sub.email) == ["Uno", "Dos"]
    django_petmail.trigger("purchase", sub)
    assert [step(seq, n).goal_count for n in (1, 2, 3)] == [0, 1, 0]


# --- suppression mid-sequence ----------------------------------------------------------


@pytest.mark.parametrize("is_marketing", [True, False])
def test_a_permanent_bounce_cancels_every_sequence(is_marketing):
    seq = make_sequence([{}, {"delay_days": 1}], is_marketing=is_marketing)
    sub = SubscriptionFactory()
    enroll_at(seq, sub, T0)
    process(now=T0)
    stop_mail([sub.pk], [sub.email], status=pm.SubscriptionStatus.BOUNCED)
    enrollment = enrollment_of_any(seq, sub)
    assert (enrollment.status, enrollment.cancelled_reason) == ("cancelled", "bounced")
    process(now=T0 + timedelta(days=2))
    assert subjects_to(sub.email) == ["Paso 1"]


def test_unsubscribing_cancels_marketing_sequences_but_not_service_ones():
    marketing = make_sequence([{}, {"delay_days": 1}], name="ofertas")
    service = make_sequence(
        [{"subject": "Vacuna 1"}, {"delay_days": 1, "subject": "Vacuna 2"}], is_marketing=False
    )
    sub = SubscriptionFactory()
    for seq in (marketing, service):
        enroll_at(seq, sub, T0)
    process(now=T0)
    assert unsubscribe(sub, source=pm.UnsubscribeSource.PAGE)
    assert enrollment_of_any(marketing, sub).status == "cancelled"
    assert enrollment_of_any(service, sub).status == "active"
    process(now=T0 + timedelta(days=1))
    assert sorted(subjects_to(sub.email)) == ["Paso 1", "Vacuna 1", "Vacuna 2"]
    assert enrollment_of_any(service, sub).status == "completed"


def test_a_step_due_after_the_subscriber_paused_mail_is_skipped_as_not_eligible():
    seq = make_sequence([{}, {"delay_days": 1}, {"delay_days": 1}])
    sub = SubscriptionFactory()
    enroll_at(seq, sub, T0)
    process(now=T0)
    pm.NewsletterSubscription.objects.filter(pk=sub.pk).update(is_paused=True)
    process(now=T0 + timedelta(days=1))
    skipped = pm.EmailSend.objects.get(sequence_step=step(seq, 2))
    assert skipped.status == pm.SendStatus.SKIPPED
    assert "no longer receive" in skipped.error_message
    pm.NewsletterSubscription.objects.filter(pk=sub.pk).update(is_paused=False)
    process(now=T0 + timedelta(days=2))
    assert subjects_to(sub.email) == ["Paso 1", "Paso 3"]


# --- pause, resume, cancel -------------------------------------------------------------


def test_pause_and_resume_one_enrollment():
    seq = make_sequence([{}, {"delay_days": 1}])
    sub, other = SubscriptionFactory(), SubscriptionFactory()
    enroll_at(seq, sub, T0)
    enroll_at(seq, other, T0)
    process(now=T0)
    mine = pm.SequenceEnrollment.objects.filter(subscription=sub)
    assert enrollments.pause(mine) == 1
    process(now=T0 + timedelta(days=3))
    assert subjects_to(sub.email) == ["Paso 1"]
    assert subjects_to(other.email) == ["Paso 1", "Paso 2"]
    assert enrollments.resume(mine) == 1
    process(now=T0 + timedelta(days=4))  # the step that came due meanwhile goes out now
    assert subjects_to(sub.email) == ["Paso 1", "Paso 2"]
    assert enrollment_of_any(seq, sub).status == "completed"


def test_a_paused_enrollments_waiting_send_goes_out_on_resume():
    seq = make_sequence([{}])
    sub = SubscriptionFactory()
    enroll_at(seq, sub, T0)
    mine = pm.SequenceEnrollment.objects.filter(subscription=sub)
    mine.update(next_send_at=T0)
    _create_sends(seq, step(seq, 1), mine, T0)  # created, then paused before it went out
    enrollments.pause(mine)
    process(now=T0)
    assert subjects_to(sub.email) == []
    enrollments.resume(mine)
    assert subjects_to(sub.email) == ["Paso 1"]


def test_cancel_one_enrollment():
    seq = make_sequence([{}, {"delay_days": 1}])
    sub = SubscriptionFactory()
    enroll_at(seq, sub, T0)
    process(now=T0)
    mine = pm.SequenceEnrollment.objects.filter(subscription=sub)
    assert enrollments.cancel(mine, reason="pedido por el cliente") == 1
    process(now=T0 + timedelta(days=2))
    assert subjects_to(sub.email) == ["Paso 1"]
    assert enrollment_of_any(seq, sub).cancelled_reason == "pedido por el cliente"


def test_pause_resume_and_cancel_a_whole_sequence():
    seq = make_sequence([{}, {"delay_days": 1}, {"delay_days": 1}])
    other = make_sequence([{}, {"delay_days": 1}], name="otra")
    subs = [SubscriptionFactory() for _ in range(3)]
    for sub in subs:
        enroll_at(seq, sub, T0)
        enroll_at(other, sub, T0)
    process(now=T0)
    enrollments.pause_sequence(seq, reason="revisando textos")
    assert seq.paused_reason == "revisando textos"
    process(now=T0 + timedelta(days=1))
    assert step(seq, 2).sent_count == 0
    assert step(other, 2).sent_count == 3
    enrollments.resume_sequence(seq)
    process(now=T0 + timedelta(days=1, minutes=1))
    assert step(seq, 2).sent_count == 3
    assert enrollments.cancel_sequence(seq) == 3
    process(now=T0 + timedelta(days=5))
    assert step(seq, 3).sent_count == 0
    seq.refresh_from_db()
    assert not seq.is_active
    assert set(
        pm.SequenceEnrollment.objects.filter(sequence=seq).values_list("status", flat=True)
    ) == {"cancelled"}


# --- statistics and view online --------------------------------------------------------


def event(send, kind, n, **extra):
    return record(
        Incoming(
            event_type=kind,
            event_id=f"{kind}-{send.pk}-{n}",
            message_id=send.esp_message_id,
            recipient=send.email_address,
            metadata={"send_id": send.pk},
            **extra,
        )
    )


def test_step_counters_move_with_tracking_events():
    seq = make_sequence([{}, {"delay_days": 1}])
    subs = [SubscriptionFactory() for _ in range(3)]
    for sub in subs:
        enroll_at(seq, sub, T0)
    process(now=T0)
    sends = list(pm.EmailSend.objects.filter(sequence_step=step(seq, 1)).order_by("pk"))
    assert all(s.status == "sent" and s.esp_message_id for s in sends)
    for send in sends:
        event(send, "delivered", 1)
    event(sends[0], "opened", 1)
    event(sends[0], "opened", 2)  # a second open is not a second unique open
    event(sends[1], "clicked", 1)
    event(sends[2], "bounced", 1, bounce_type="Permanent")

    first = step(seq, 1)
    assert (first.sent_count, first.delivered_count) == (3, 3)
    assert (first.open_count, first.click_count, first.bounce_count) == (2, 1, 1)
    assert step(seq, 2).sent_count == 0
    # the bounce ended that subscriber's enrollment
    assert enrollment_of_any(seq, subs[2]).status == "cancelled"
    process(now=T0 + timedelta(days=1))
    assert step(seq, 2).sent_count == 2


def test_an_unsubscribe_from_a_step_is_counted_on_the_step(client):
    seq = make_sequence([{}, {"delay_days": 1}])
    sub = SubscriptionFactory()
    enroll_at(seq, sub, T0)
    process(now=T0)
    send = pm.EmailSend.objects.get()
    event(send, "unsubscribed", 1)
    assert step(seq, 1).unsubscribe_count == 1
    assert enrollment_of_any(seq, sub).status == "cancelled"


def test_view_online_shows_a_step_send(client):
    seq = make_sequence(
        [
            {
                "subject": "Hola {{ first_name }}",
                "html_content": "<p>Bienvenida, {{ first_name }}</p>",
            }
        ]
    )
    sub = SubscriptionFactory(first_name="Ana")
    enroll_at(seq, sub, T0)
    process(now=T0)
    send = pm.EmailSend.objects.get(sequence_step=step(seq, 1))
    response = client.get(urlsplit(view_online_url(sub, send.pk)).path)
    assert response.status_code == 200
    assert "Bienvenida, Ana" in response.content.decode()
    [message] = mail.outbox
    assert "Bienvenida, Ana" in message.alternatives[0][0]


# --- exactly once ----------------------------------------------------------------------


def test_two_runs_at_the_same_time_send_each_step_once():
    seq = make_sequence([{}, {"delay_days": 1}])
    subs = [SubscriptionFactory() for _ in range(5)]
    for sub in subs:
        enroll_at(seq, sub, T0)
    for _ in range(2):
        process(now=T0)
    assert len(mail.outbox) == 5
    for _ in range(2):
        process(now=T0 + timedelta(days=1))
    assert len(mail.outbox) == 10
    assert pm.EmailSend.objects.count() == 10
    assert step(seq, 1).sent_count == step(seq, 2).sent_count == 5


def test_a_crash_between_creating_sends_and_advancing_never_sends_twice():
    seq = make_sequence([{}, {"delay_days": 1}])
    subs = [SubscriptionFactory() for _ in range(4)]
    for sub in subs:
        enroll_at(seq, sub, T0)
    group = pm.SequenceEnrollment.objects.filter(sequence=seq)
    group.update(next_send_at=T0)
    # the run inserted the step's sends, then died before the UPDATE that advances
    created = _create_sends(seq, step(seq, 1), group, T0)
    assert created[pm.SendStatus.PENDING] == 4
    assert set(group.values_list("current_step", flat=True)) == {0}
    # a worker may even have sent them before the next run
    django_petmail.tasks.send_sequence_email(step(seq, 1).pk)
    assert len(mail.outbox) == 4

    run = process(now=T0 + timedelta(minutes=1))

    assert run.sequences[seq.pk].sends == 0
    assert len(mail.outbox) == 4
    assert set(group.values_list("current_step", flat=True)) == {1}
    process(now=T0 + timedelta(days=2))
    assert sorted(m.subject for m in mail.outbox) == ["Paso 1"] * 4 + ["Paso 2"] * 4
