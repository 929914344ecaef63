"""Revenue attribution: ``record_conversion`` credits the subscriber's last click within the
window to that email's campaign or step, once per reference; ``refund_conversion`` reverses
it once; bad input names the argument."""

import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, connections, transaction
from django.test import override_settings

import django_petmail
from django_petmail import hooks, signals
from django_petmail.analytics import attribution
from django_petmail.conf import petmail_settings
from django_petmail.exceptions import PetmailImproperlyConfigured
from django_petmail.models import Conversion, EventType
from tests.factories import (
    CampaignFactory,
    EventFactory,
    OwnerFactory,
    SendFactory,
    StepFactory,
    SubscriptionFactory,
)

pytestmark = pytest.mark.django_db

AT = datetime(2026, 5, 20, 12, 0, tzinfo=UTC)


def touch(subscription, kind, when, *, campaign=None, step=None):
    """A send of ``campaign`` (or ``step``) to ``subscription`` with one ``kind`` event."""
    if step is not None:
        send = SendFactory(campaign=None, sequence_step=step, subscription=subscription)
    else:
        send = SendFactory(campaign=campaign or CampaignFactory(), subscription=subscription)
    EventFactory(send=send, event_type=kind, occurred_at=when)
    return send


def counters(mailing):
    mailing.refresh_from_db()
    return mailing.revenue_attributed, mailing.conversion_count


def test_last_click_wins_over_an_earlier_one(subscription):
    early, late = CampaignFactory(), CampaignFactory()
    touch(subscription, EventType.CLICK, AT - timedelta(days=3), campaign=early)
    send = touch(subscription, EventType.CLICK, AT - timedelta(hours=2), campaign=late)

    conversion = django_petmail.record_conversion(
        subscription, Decimal("42.50"), at=AT, reference="order-1"
    )

    assert conversion.send == send
    assert conversion.subscription == subscription
    assert (conversion.amount, conversion.currency, conversion.occurred_at) == (
        Decimal("42.50"),
        "EUR",
        AT,
    )
    assert counters(late) == (Decimal("42.50"), 1)
    assert counters(early) == (Decimal("0"), 0)


def test_a_click_after_the_conversion_does_not_count(subscription):
    campaign = CampaignFactory()
    touch(subscription, EventType.CLICK, AT + timedelta(minutes=5), campaign=campaign)
    conversion = django_petmail.record_conversion(subscription, 10, at=AT, reference="order-1")
    assert conversion.send is None
    assert counters(campaign) == (Decimal("0"), 0)


@override_settings(PETMAIL={"REVENUE_ATTRIBUTION_DAYS": 7})
def test_a_click_older_than_the_window_does_not_count(subscription):
    old, inside = CampaignFactory(), CampaignFactory()
    touch(subscription, EventType.CLICK, AT - timedelta(days=7, seconds=1), campaign=old)
    assert django_petmail.record_conversion(subscription, 5, at=AT, reference="a").send is None
    send = touch(subscription, EventType.CLICK, AT - timedelta(days=6, hours=23), campaign=inside)
    assert django_petmail.record_conversion(subscription, 5, at=AT, reference="b").send == send
    assert counters(old) == (Decimal("0"), 0)
    assert counters(inside) == (Decimal("5"), 1)


@override_settings(PETMAIL={"REVENUE_ATTRIBUTION_DAYS": 0})
def test_a_window_of_zero_days_attributes_nothing(subscription):
    touch(subscription, EventType.CLICK, AT - timedelta(minutes=1))
    conversion = django_petmail.record_conversion(subscription, 5, at=AT, reference="a")
    assert conversion.send is None
    assert Conversion.objects.count() == 1


def test_opens_do_not_count_by_default(subscription):
    campaign = CampaignFactory()
    touch(subscription, EventType.OPEN, AT - timedelta(hours=1), campaign=campaign)
    assert django_petmail.record_conversion(subscription, 5, at=AT, reference="a").send is None
    assert counters(campaign) == (Decimal("0"), 0)


@override_settings(PETMAIL={"REVENUE_ATTRIBUTE_OPENS": True})
def test_with_the_setting_the_last_open_counts_when_there_was_no_click(subscription):
    first, second = CampaignFactory(), CampaignFactory()
    touch(subscription, EventType.OPEN, AT - timedelta(hours=5), campaign=first)
    send = touch(subscription, EventType.OPEN, AT - timedelta(hours=1), campaign=second)
    assert django_petmail.record_conversion(subscription, 5, at=AT, reference="a").send == send
    assert counters(second) == (Decimal("5"), 1)


@override_settings(PETMAIL={"REVENUE_ATTRIBUTE_OPENS": True})
def test_with_the_setting_a_click_still_beats_a_later_open(subscription):
    clicked, opened = CampaignFactory(), CampaignFactory()
    send = touch(subscription, EventType.CLICK, AT - timedelta(days=2), campaign=clicked)
    touch(subscription, EventType.OPEN, AT - timedelta(hours=1), campaign=opened)
    assert django_petmail.record_conversion(subscription, 5, at=AT, reference="a").send == send
    assert counters(opened) == (Decimal("0"), 0)


def test_other_subscribers_clicks_do_not_count(subscription):
    touch(SubscriptionFactory(), EventType.CLICK, AT - timedelta(hours=1))
    assert django_petmail.record_conversion(subscription, 5, at=AT, reference="a").send is None


def test_counters_move_on_the_step_of_a_sequence_send(subscription):
    step, campaign = StepFactory(), CampaignFactory()
    touch(subscription, EventType.CLICK, AT - timedelta(days=1), campaign=campaign)
    send = touch(subscription, EventType.CLICK, AT - timedelta(hours=1), step=step)

    conversion = django_petmail.record_conversion(subscription, "19.99", at=AT, reference="o-9")

    assert conversion.send == send
    assert counters(step) == (Decimal("19.99"), 1)
    assert counters(campaign) == (Decimal("0"), 0)
    django_petmail.refund_conversion("o-9", at=AT + timedelta(days=1))
    assert counters(step) == (Decimal("0.00"), 0)


def test_an_owner_is_resolved_to_their_subscription(owner):
    subscription = SubscriptionFactory(owner=owner, email=owner.email)
    campaign = CampaignFactory()
    send = touch(subscription, EventType.CLICK, AT - timedelta(hours=1), campaign=campaign)
    conversion = django_petmail.record_conversion(owner, 30, at=AT, reference="order-3")
    assert (conversion.subscription, conversion.send) == (subscription, send)
    assert counters(campaign) == (Decimal("30"), 1)


def test_an_owner_who_never_subscribed_is_stored_unattributed():
    owner = OwnerFactory(email="")
    conversion = django_petmail.record_conversion(owner, 30, at=AT, reference="order-4")
    conversion.refresh_from_db()
    assert (conversion.subscription, conversion.send, conversion.amount) == (
        None,
        None,
        Decimal("30.00"),
    )


def test_conversions_accumulate_on_one_campaign(subscription):
    campaign = CampaignFactory()
    touch(subscription, EventType.CLICK, AT - timedelta(hours=1), campaign=campaign)
    for n, amount in enumerate(["10.10", "0.90", "89"]):
        django_petmail.record_conversion(subscription, amount, at=AT, reference=f"o-{n}")
    assert counters(campaign) == (Decimal("100.00"), 3)


def test_the_same_reference_is_recorded_once(subscription, catch_signal):
    recorded = catch_signal(signals.conversion_recorded)
    campaign = CampaignFactory()
    touch(subscription, EventType.CLICK, AT - timedelta(hours=1), campaign=campaign)

    first = django_petmail.record_conversion(subscription, 25, at=AT, reference="order-7")
    again = django_petmail.record_conversion(
        SubscriptionFactory(), 999, at=AT + timedelta(days=1), reference="order-7", currency="USD"
    )

    assert again.pk == first.pk
    assert (again.amount, again.currency, again.subscription) == (
        Decimal("25.00"),
        "EUR",
        subscription,
    )
    assert Conversion.objects.count() == 1
    assert counters(campaign) == (Decimal("25"), 1)
    assert [(c["conversion"].pk, c["send"]) for c in recorded] == [(first.pk, first.send)]


def test_a_repeat_inside_the_callers_transaction_leaves_it_usable(subscription):
    with transaction.atomic():
        django_petmail.record_conversion(subscription, 1, at=AT, reference="r")
        django_petmail.record_conversion(subscription, 1, at=AT, reference="r")
        assert Conversion.objects.count() == 1  # the savepoint kept the transaction usable


def test_refund_reverses_once(subscription, catch_signal):
    refunded = catch_signal(signals.conversion_refunded)
    campaign = CampaignFactory()
    touch(subscription, EventType.CLICK, AT - timedelta(hours=1), campaign=campaign)
    django_petmail.record_conversion(subscription, "40.00", at=AT, reference="order-8")
    django_petmail.record_conversion(subscription, "2.50", at=AT, reference="order-9")

    when = AT + timedelta(days=2)
    conversion = django_petmail.refund_conversion("order-8", at=when)
    assert conversion is not None and conversion.refunded_at == when
    assert counters(campaign) == (Decimal("2.50"), 1)

    again = django_petmail.refund_conversion("order-8", at=when + timedelta(days=1))
    assert again is not None and again.refunded_at == when
    assert counters(campaign) == (Decimal("2.50"), 1)
    assert len(refunded) == 1
    assert refunded[0]["conversion"].reference == "order-8"


def test_refunding_an_unattributed_conversion_only_marks_it(subscription):
    django_petmail.record_conversion(subscription, 3, at=AT, reference="x")
    conversion = django_petmail.refund_conversion("x")
    assert conversion is not None and conversion.refunded_at is not None


def test_refunding_an_unknown_reference_returns_none():
    assert django_petmail.refund_conversion("never-recorded") is None


def test_currency_defaults_to_the_setting_and_is_upper_cased(subscription):
    assert django_petmail.record_conversion(subscription, 1, reference="a").currency == "EUR"
    with override_settings(PETMAIL={"CURRENCY": "gbp"}):
        assert django_petmail.record_conversion(subscription, 1, reference="b").currency == "GBP"
    assert (
        django_petmail.record_conversion(subscription, 1, reference="c", currency="usd").currency
        == "USD"
    )


def test_a_float_amount_is_taken_as_written(subscription):
    conversion = django_petmail.record_conversion(subscription, 19.99, reference="f")
    assert conversion.amount == Decimal("19.99")
    assert django_petmail.record_conversion(subscription, "10.500", reference="g").amount == (
        Decimal("10.50")
    )


def test_the_hooks_module_re_exports_both_functions():
    assert hooks.record_conversion is django_petmail.record_conversion
    assert hooks.refund_conversion is django_petmail.refund_conversion


# Bad input


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        (Decimal("-0.01"), "amount: must not be negative"),
        (-5, "amount: must not be negative"),
        (float("inf"), "amount: must be a finite number"),
        (float("nan"), "amount: must be a finite number"),
        (Decimal("NaN"), "amount: must be a finite number"),
        ("Infinity", "amount: must be a finite number"),
        ("12.345", "amount: at most 2 decimal places"),
        (0.001, "amount: at most 2 decimal places"),
        (Decimal("10000000000"), "amount: must be less than"),
        ("1e30", "amount: must be less than"),
        ("twelve", "amount: 'twelve' is not a number"),
        ("", "amount: '' is not a number"),
    ],
)
def test_bad_amounts_are_refused(subscription, amount, message):
    with pytest.raises(ValueError, match=message):
        django_petmail.record_conversion(subscription, amount, reference="bad")
    assert not Conversion.objects.exists()


@pytest.mark.parametrize("amount", [None, True, [1], {"a": 1}])
def test_amounts_of_the_wrong_type_are_refused(subscription, amount):
    with pytest.raises(TypeError, match="amount: give a number"):
        django_petmail.record_conversion(subscription, amount, reference="bad")


@pytest.mark.parametrize("recipient", [None, "owner@example.com", 42, object()])
def test_unknown_recipient_types_are_refused(recipient):
    with pytest.raises(TypeError, match="recipient: give an owner or a NewsletterSubscription"):
        django_petmail.record_conversion(recipient, 1, reference="bad")
    assert not Conversion.objects.exists()


def test_unsaved_recipients_are_refused():
    with pytest.raises(ValueError, match="recipient: the subscription is not saved"):
        django_petmail.record_conversion(SubscriptionFactory.build(), 1, reference="bad")
    with pytest.raises(ValueError, match="recipient: the owner is not saved"):
        django_petmail.record_conversion(OwnerFactory.build(), 1, reference="bad")


@pytest.mark.parametrize(
    ("reference", "error", "message"),
    [
        ("", ValueError, "reference: must not be empty"),
        ("   ", ValueError, "reference: must not be empty"),
        ("x" * 256, ValueError, "reference: at most 255 characters, got 256"),
        (42, TypeError, "reference: give a string"),
        (None, TypeError, "reference: give a string"),
    ],
)
def test_bad_references_are_refused(subscription, reference, error, message):
    with pytest.raises(error, match=message):
        django_petmail.record_conversion(subscription, 1, reference=reference)
    with pytest.raises(error, match=message):
        django_petmail.refund_conversion(reference)


def test_the_longest_reference_is_accepted(subscription):
    assert django_petmail.record_conversion(subscription, 1, reference="x" * 255).pk


@pytest.mark.parametrize("currency", ["EURO", "EU", "", "€UR", "E1R", 978])
def test_bad_currencies_are_refused(subscription, currency):
    with pytest.raises(ValueError, match="currency: give a three-letter code"):
        django_petmail.record_conversion(subscription, 1, reference="bad", currency=currency)


def test_bad_moments_are_refused(subscription):
    with pytest.raises(ValueError, match="at: give an aware datetime"):
        django_petmail.record_conversion(subscription, 1, reference="bad", at=datetime(2026, 1, 1))
    with pytest.raises(TypeError, match="at: give a datetime"):
        django_petmail.record_conversion(subscription, 1, reference="bad", at="2026-01-01")
    with pytest.raises(ValueError, match="at: give an aware datetime"):
        django_petmail.refund_conversion("bad", at=datetime(2026, 1, 1))


def test_the_currency_setting_is_validated():
    with (
        override_settings(PETMAIL={"CURRENCY": "euro"}),
        pytest.raises(PetmailImproperlyConfigured, match="CURRENCY"),
    ):
        getattr(petmail_settings, "CURRENCY")  # noqa: B009  (the read raises)
    with (
        override_settings(PETMAIL={"REVENUE_ATTRIBUTE_OPENS": "yes"}),
        pytest.raises(PetmailImproperlyConfigured, match="REVENUE_ATTRIBUTE_OPENS"),
    ):
        getattr(petmail_settings, "REVENUE_ATTRIBUTE_OPENS")  # noqa: B009  (the read raises)


def test_last_touch_is_one_query(subscription, django_assert_num_queries):
    for hours in range(1, 6):
        touch(subscription, EventType.CLICK, AT - timedelta(hours=hours))
    with django_assert_num_queries(1):
        assert attribution.last_touch(subscription, AT) is not None


# Two processes at once (PostgreSQL)


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_two_threads_recording_the_same_reference_count_it_once():
    assert connection.vendor == "postgresql"
    subscription = SubscriptionFactory()
    campaign = CampaignFactory()
    touch(subscription, EventType.CLICK, AT - timedelta(hours=1), campaign=campaign)
    results: list = []
    errors: list = []
    barrier = threading.Barrier(8)

    def record():
        try:
            barrier.wait()
            results.append(
                django_petmail.record_conversion(
                    subscription, "12.34", at=AT, reference="order-race"
                ).pk
            )
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=record) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert len(set(results)) == 1 and len(results) == 8
    assert Conversion.objects.count() == 1
    assert counters(campaign) == (Decimal("12.34"), 1)

    def refund():
        try:
            barrier.wait()
            django_petmail.refund_conversion("order-race")
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=refund) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert counters(campaign) == (Decimal("0.00"), 0)


def test_model_string_names_reference_and_amount(subscription):
    conversion = django_petmail.record_conversion(subscription, 7, reference="order-5")
    assert str(conversion) == "order-5 (7.00 EUR)"


def test_an_integrity_error_on_another_constraint_is_not_swallowed(subscription, monkeypatch):
    def clash(**kwargs):
        raise IntegrityError("some other constraint")

    monkeypatch.setattr(Conversion.objects, "create", clash)
    with pytest.raises(IntegrityError, match="some other constraint"):
        django_petmail.record_conversion(subscription, 1, reference="z")


def test_the_model_defaults_its_currency_to_the_setting(subscription):
    with override_settings(PETMAIL={"CURRENCY": "CHF"}):
        conversion = Conversion.objects.create(reference="m", amount=1, occurred_at=AT)
    assert conversion.currency == "CHF"
