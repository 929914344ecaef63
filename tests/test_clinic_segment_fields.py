"""The example clinic's segment fields, compiled through members_for_rules.

Fields that cross to-many relations (pets, appointments, orders) hold when *any* related row
matches, and a member matched by several rows is still returned once.
"""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from clinic.models import AppointmentStatus, Cart, OrderStatus, Vaccination
from django_petmail.models import NewsletterSubscription
from django_petmail.segments.service import members_for_rules
from tests.factories import (
    AppointmentFactory,
    CampaignFactory,
    EnrollmentFactory,
    OrderFactory,
    OwnerFactory,
    PetFactory,
    SendFactory,
    SequenceFactory,
    SubscriptionFactory,
)

pytestmark = pytest.mark.django_db


def member(name, **subscription):
    """An owner with a subscription under the owner's address ``<name>@example.com``."""
    owner = OwnerFactory(email=f"{name}@example.com", first_name=name)
    SubscriptionFactory(owner=owner, email=owner.email, **subscription)
    return owner


def one(field, op, value):
    return {"operator": "AND", "conditions": [{"field": field, "op": op, "value": value}]}


def names(rules):
    """Local parts of the members' addresses; checks nobody is returned twice."""
    queryset = members_for_rules(rules)
    emails = list(queryset.values_list("email", flat=True))
    assert queryset.count() == len(emails) == len(set(emails)), emails
    return {email.split("@")[0] for email in emails}


def local_noon(days_from_today):
    day = timezone.localdate() + dt.timedelta(days=days_from_today)
    return timezone.make_aware(dt.datetime.combine(day, dt.time(12, 0)))


def local_at(days_from_today, hour, minute=0):
    day = timezone.localdate() + dt.timedelta(days=days_from_today)
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour, minute)))


@pytest.fixture
def orphan():
    """A subscription without an owner: owner-based fields never match it positively."""
    return SubscriptionFactory(email="orphan@example.com")


# --- pets -------------------------------------------------------------------------------------


@pytest.fixture
def pets(orphan):
    both = member("both")
    PetFactory(owner=both, species="dog", breed="Labrador", birthday=dt.date(2019, 5, 10))
    PetFactory(owner=both, species="cat", breed="Siamés", birthday=dt.date(2020, 5, 20))
    dog = member("dog")
    PetFactory(owner=dog, species="dog", breed="Golden Retriever", birthday=dt.date(2018, 6, 1))
    PetFactory(owner=dog, species="dog", breed="Labrador Retriever", birthday=None)
    cat = member("cat")
    PetFactory(owner=cat, species="cat", breed="Persa", birthday=dt.date(2021, 12, 24))
    rabbit = member("rabbit")
    PetFactory(owner=rabbit, species="rabbit", breed="", birthday=dt.date(2022, 4, 1))
    member("nopets")
    gone = member("gone", status="unsubscribed")
    PetFactory(owner=gone, species="dog")


@pytest.mark.parametrize(
    ("op", "value", "expected"),
    [
        ("eq", "dog", {"both", "dog"}),
        ("eq", "cat", {"both", "cat"}),
        ("eq", "bird", set()),
        ("in", ["dog", "cat"], {"both", "dog", "cat"}),
        ("in", ["rabbit"], {"rabbit"}),
        ("ne", "dog", {"both", "cat", "rabbit"}),
        ("not_in", ["dog", "cat"], {"rabbit"}),
        ("is_null", False, {"both", "dog", "cat", "rabbit"}),
    ],
)
def test_pets_species(pets, op, value, expected):
    assert names(one("pets__species", op, value)) == expected


def test_an_owner_with_two_matching_pets_is_one_member(pets):
    queryset = members_for_rules(one("pets__species", "eq", "dog"))
    assert queryset.count() == 2
    assert sorted(queryset.values_list("email", flat=True)) == [
        "both@example.com",
        "dog@example.com",
    ]


def test_not_species_means_no_such_pet(pets):
    assert names({"not": one("pets__species", "eq", "dog")}) == {
        "cat",
        "rabbit",
        "nopets",
        "orphan",
    }


def test_dog_and_cat_needs_both(pets):
    rules = {
        "operator": "AND",
        "conditions": [
            {"field": "pets__species", "op": "eq", "value": "dog"},
            {"field": "pets__species", "op": "eq", "value": "cat"},
        ],
    }
    assert names(rules) == {"both"}


@pytest.mark.parametrize(
    ("op", "value", "expected"),
    [
        ("icontains", "lab", {"both", "dog"}),
        ("icontains", "RETRIEVER", {"dog"}),
        ("contains", "Lab", {"both", "dog"}),
        ("startswith", "Golden", {"dog"}),
        ("eq", "Persa", {"cat"}),
        ("in", ["Persa", "Siamés"], {"both", "cat"}),
    ],
)
def test_pets_breed(pets, op, value, expected):
    assert names(one("pets__breed", op, value)) == expected


def test_contains_is_case_sensitive_except_on_sqlite(pets):
    """Django's ``contains`` uses LIKE, which SQLite compares case-insensitively (ASCII);
    PostgreSQL compares exactly. The docs tell authors to use ``icontains`` for clarity."""
    expected = {"cat"} if connection.vendor == "sqlite" else set()
    assert names(one("pets__breed", "contains", "persa")) == expected


@pytest.mark.parametrize(
    ("op", "value", "expected"),
    [
        ("eq", 5, {"both"}),
        ("eq", 12, {"cat"}),
        ("in", [5, 6], {"both", "dog"}),
        ("between", [4, 6], {"both", "dog", "rabbit"}),
        ("eq", 1, set()),
    ],
)
def test_pet_birthday_month(pets, op, value, expected):
    assert names(one("pet_birthday_month", op, value)) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [(True, {"both", "dog", "cat", "rabbit"}), (False, {"nopets", "orphan"})],
)
def test_pets_exists(pets, value, expected):
    assert names(one("pets", "exists", value)) == expected


# --- visits -----------------------------------------------------------------------------------


@pytest.fixture
def visits(orphan):
    recent = member("recent")
    AppointmentFactory(owner=recent, start=local_noon(-10))
    AppointmentFactory(owner=recent, start=local_noon(-300))
    edge = member("edge")
    AppointmentFactory(owner=edge, start=local_noon(-90))
    old = member("old")
    AppointmentFactory(owner=old, start=local_noon(-91))
    scheduled = member("scheduled")
    AppointmentFactory(owner=scheduled, start=local_noon(-10), status=AppointmentStatus.SCHEDULED)
    cancelled = member("cancelled")
    AppointmentFactory(owner=cancelled, start=local_noon(-5), status=AppointmentStatus.CANCELLED)
    AppointmentFactory(owner=cancelled, start=local_noon(-200))
    noshow = member("noshow")
    AppointmentFactory(owner=noshow, start=local_noon(-3), status=AppointmentStatus.NO_SHOW)
    member("never")


@pytest.mark.parametrize(
    ("op", "value", "expected"),
    [
        ("gte", "-90d", {"recent", "edge"}),
        ("lt", "-90d", {"old", "cancelled"}),
        ("gt", "-11d", {"recent"}),
        ("lte", "-90d", {"edge", "old", "cancelled"}),
        ("between", ["-100d", "-50d"], {"edge", "old"}),
        ("is_null", True, {"scheduled", "noshow", "never", "orphan"}),
        ("is_null", False, {"recent", "edge", "old", "cancelled"}),
        ("ne", "-10d", {"edge", "old", "cancelled", "scheduled", "noshow", "never", "orphan"}),
    ],
)
def test_last_visit_date_uses_completed_appointments(visits, op, value, expected):
    assert names(one("last_visit_date", op, value)) == expected


def test_last_visit_date_with_an_absolute_date(visits):
    day = (local_noon(-90)).date().isoformat()
    assert names(one("last_visit_date", "eq", day)) == {"edge"}
    assert names(one("last_visit_date", "gte", day)) == {"recent", "edge"}


# --- orders -----------------------------------------------------------------------------------


@pytest.fixture
def orders(orphan):
    big = member("big")
    OrderFactory(owner=big, total=Decimal("600.00"))
    OrderFactory(owner=big, total=Decimal("500.00"))
    almost = member("almost")
    OrderFactory(owner=almost, total=Decimal("900.00"))
    OrderFactory(owner=almost, total=Decimal("500.00"), status=OrderStatus.PENDING)
    exact = member("exact")
    OrderFactory(owner=exact, total=Decimal("1000.00"))
    refunded = member("refunded")
    OrderFactory(owner=refunded, total=Decimal("2000.00"), status=OrderStatus.REFUNDED)
    OrderFactory(owner=refunded, total=Decimal("0.50"))
    member("none")


@pytest.mark.parametrize(
    ("op", "value", "expected"),
    [
        ("gte", 1000, {"big", "exact"}),
        ("gte", "1000.01", {"big"}),
        ("gt", 1000, {"big"}),
        ("lt", 1, {"refunded", "none", "orphan"}),
        ("lte", "0", {"none", "orphan"}),
        ("eq", 0, {"none", "orphan"}),
        ("eq", "1100", {"big"}),
        ("ne", "1000", {"big", "almost", "refunded", "none", "orphan"}),
        ("between", [900, 1000], {"almost", "exact"}),
        ("between", ["0.25", "999.99"], {"almost", "refunded"}),
    ],
)
def test_lifetime_value_counts_completed_orders_only(orders, op, value, expected):
    assert names(one("lifetime_value", op, value)) == expected


@pytest.mark.parametrize(
    ("op", "value", "expected"),
    [
        ("eq", 2, {"big"}),
        ("gte", 1, {"big", "almost", "exact", "refunded"}),
        ("eq", 0, {"none", "orphan"}),
        ("lt", 2, {"almost", "exact", "refunded", "none", "orphan"}),
        ("between", [1, 1], {"almost", "exact", "refunded"}),
        ("ne", 1, {"big", "none", "orphan"}),
    ],
)
def test_orders_count_counts_completed_orders(orders, op, value, expected):
    assert names(one("orders_count", op, value)) == expected


# --- appointments ahead, vaccinations, carts --------------------------------------------------


@pytest.fixture
def upcoming(orphan):
    soon = member("soon")
    AppointmentFactory(
        owner=soon,
        start=timezone.now() + dt.timedelta(days=3),
        status=AppointmentStatus.SCHEDULED,
    )
    missed = member("missed")
    AppointmentFactory(
        owner=missed,
        start=timezone.now() - dt.timedelta(hours=2),
        status=AppointmentStatus.SCHEDULED,
    )
    called_off = member("called_off")
    AppointmentFactory(
        owner=called_off,
        start=timezone.now() + dt.timedelta(days=3),
        status=AppointmentStatus.CANCELLED,
    )
    member("nothing")


@pytest.mark.parametrize(
    ("op", "value", "expected"),
    [
        ("eq", True, {"soon"}),
        ("eq", False, {"missed", "called_off", "nothing", "orphan"}),
        ("ne", True, {"missed", "called_off", "nothing", "orphan"}),
        ("ne", False, {"soon"}),
    ],
)
def test_has_upcoming_appointment(upcoming, op, value, expected):
    assert names(one("has_upcoming_appointment", op, value)) == expected


@pytest.fixture
def vaccinations(orphan):
    today = timezone.localdate()

    def vaccination(name, days, administered=False):
        pet = PetFactory(owner=member(name))
        Vaccination.objects.create(
            pet=pet,
            vaccine="Rabia",
            due_date=today + dt.timedelta(days=days),
            administered_at=today if administered else None,
        )

    vaccination("in10", 10)
    vaccination("today", 0)
    vaccination("in14", 14)
    vaccination("in20", 20)
    vaccination("overdue", -1)
    vaccination("done", 5, administered=True)
    member("novax")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("14d", {"in10", "today", "in14"}),
        ("2w", {"in10", "today", "in14"}),
        (14, {"in10", "today", "in14"}),
        ("30d", {"in10", "today", "in14", "in20"}),
        ("0d", {"today"}),
    ],
)
def test_vaccination_due_within(vaccinations, value, expected):
    assert names(one("vaccination_due", "within", value)) == expected


def test_vaccination_due_negated(vaccinations):
    assert names({"not": one("vaccination_due", "within", "14d")}) == {
        "in20",
        "overdue",
        "done",
        "novax",
        "orphan",
    }


@pytest.fixture
def carts(orphan):
    now = timezone.now()

    def cart(name, **kwargs):
        Cart.objects.create(owner=member(name), **kwargs)

    cart("abandoned", item_count=2, updated=now - dt.timedelta(hours=5))
    cart("fresh", item_count=2, updated=now - dt.timedelta(hours=1))
    cart("bought", item_count=2, updated=now - dt.timedelta(days=2), checked_out_at=now)
    cart("empty", item_count=0, updated=now - dt.timedelta(days=2))
    member("nocart")


@pytest.mark.parametrize(
    ("op", "value", "expected"),
    [
        ("eq", True, {"abandoned"}),
        ("eq", False, {"fresh", "bought", "empty", "nocart", "orphan"}),
        ("ne", True, {"fresh", "bought", "empty", "nocart", "orphan"}),
    ],
)
def test_abandoned_cart(carts, op, value, expected):
    assert names(one("abandoned_cart", op, value)) == expected


# --- engagement -------------------------------------------------------------------------------


@pytest.fixture
def engagement():
    now = timezone.now()
    opener = SubscriptionFactory(email="opener@example.com")
    SendFactory(subscription=opener, opened_at=now - dt.timedelta(days=5))
    clicker = SubscriptionFactory(email="clicker@example.com")
    SendFactory(
        subscription=clicker,
        opened_at=now - dt.timedelta(days=40),
        clicked_at=now - dt.timedelta(days=3),
    )
    stale = SubscriptionFactory(email="stale@example.com")
    SendFactory(
        subscription=stale,
        opened_at=now - dt.timedelta(days=40),
        clicked_at=now - dt.timedelta(days=40),
    )
    SendFactory(subscription=stale)  # sent, never opened
    SubscriptionFactory(email="silent@example.com")


@pytest.mark.parametrize(
    ("op", "value", "expected"),
    [
        ("opened_in_last", "30d", {"opener"}),
        ("opened_in_last", "6w", {"opener", "clicker", "stale"}),
        ("opened_in_last", 1, set()),
        ("clicked_in_last", "30d", {"clicker"}),
        ("clicked_in_last", "1y", {"clicker", "stale"}),
    ],
)
def test_email_engagement(engagement, op, value, expected):
    assert names(one("email_engagement", op, value)) == expected


def test_not_opened_recently(engagement):
    assert names({"not": one("email_engagement", "opened_in_last", "30d")}) == {
        "clicker",
        "stale",
        "silent",
    }


def test_received_campaign():
    campaign = CampaignFactory()
    other = CampaignFactory()
    got = SubscriptionFactory(email="got@example.com")
    SendFactory(campaign=campaign, subscription=got, status="delivered")
    opened = SubscriptionFactory(email="opened@example.com")
    SendFactory(campaign=campaign, subscription=opened, status="opened")
    bounced = SubscriptionFactory(email="bounced@example.com")
    SendFactory(campaign=campaign, subscription=bounced, status="bounced")
    pending = SubscriptionFactory(email="pending@example.com")
    SendFactory(campaign=campaign, subscription=pending, status="pending")
    elsewhere = SubscriptionFactory(email="elsewhere@example.com")
    SendFactory(campaign=other, subscription=elsewhere, status="delivered")
    assert names(one("received_campaign", "eq", campaign.pk)) == {"got", "opened"}
    assert names(one("received_campaign", "ne", campaign.pk)) == {
        "bounced",
        "pending",
        "elsewhere",
    }
    assert names(one("received_campaign", "eq", other.pk)) == {"elsewhere"}


def test_in_sequence():
    sequence = SequenceFactory()
    other = SequenceFactory()
    active = SubscriptionFactory(email="active@example.com")
    EnrollmentFactory(sequence=sequence, subscription=active)
    paused = SubscriptionFactory(email="paused@example.com")
    EnrollmentFactory(sequence=sequence, subscription=paused, status="paused")
    finished = SubscriptionFactory(email="finished@example.com")
    EnrollmentFactory(sequence=sequence, subscription=finished, status="completed")
    by_owner = member("byowner")
    EnrollmentFactory(sequence=sequence, subscription=None, owner=by_owner)
    elsewhere = SubscriptionFactory(email="elsewhere@example.com")
    EnrollmentFactory(sequence=other, subscription=elsewhere)
    SubscriptionFactory(email="orphan@example.com")
    assert names(one("in_sequence", "eq", sequence.pk)) == {"active", "paused", "byowner"}
    assert names(one("in_sequence", "ne", sequence.pk)) == {"finished", "elsewhere", "orphan"}


# --- subscription columns ---------------------------------------------------------------------


@pytest.fixture
def topics():
    for name, value in [
        ("news", ["news"]),
        ("both", ["promotions", "news"]),
        ("promos", ["promotions"]),
        ("nothing", []),
        ("tips", ["pet_tips", "newsletter"]),
    ]:
        SubscriptionFactory(email=f"{name}@example.com", topics=value)


@pytest.mark.parametrize(
    ("op", "value", "expected"),
    [
        ("contains", "news", {"news", "both"}),
        ("contains", "promotions", {"both", "promos"}),
        ("contains", "new", set()),
        ("contains", "reminders", set()),
        ("is_null", True, {"nothing"}),
        ("is_null", False, {"news", "both", "promos", "tips"}),
    ],
)
def test_topics(topics, op, value, expected):
    assert names(one("topics", op, value)) == expected


def test_topics_not_contains(topics):
    assert names({"not": one("topics", "contains", "news")}) == {"promos", "nothing", "tips"}


@pytest.fixture
def subscribed():
    when = {
        "now": timezone.now(),
        "early7": local_at(-7, 0, 30),  # the previous UTC day, but day -7 locally
        "late7": local_at(-7, 23, 30),
        "late8": local_at(-8, 23, 59),
        "old": local_noon(-400),
    }
    for name, moment in when.items():
        sub = SubscriptionFactory(email=f"{name}@example.com")
        NewsletterSubscription.objects.filter(pk=sub.pk).update(subscribed_at=moment)


@pytest.mark.parametrize(
    ("op", "value", "expected"),
    [
        ("gte", "-7d", {"now", "early7", "late7"}),
        ("lt", "-7d", {"late8", "old"}),
        ("gte", "today", {"now"}),
        ("lt", "-1y", {"old"}),
        ("between", ["-8d", "-7d"], {"early7", "late7", "late8"}),
    ],
)
def test_subscribed_at_compares_relative_dates_by_local_day(subscribed, op, value, expected):
    assert names(one("subscribed_at", op, value)) == expected


def test_subscribed_at_with_a_date_time(subscribed):
    cutoff = local_at(-7, 12).replace(tzinfo=None).isoformat()
    assert names(one("subscribed_at", "gte", cutoff)) == {"now", "late7"}


@pytest.mark.parametrize(
    ("field", "op", "value", "expected"),
    [
        ("status", "eq", "active", {"a", "b"}),
        ("frequency", "eq", "monthly", {"b"}),
        ("frequency", "in", ["weekly", "important_only"], {"a"}),
        ("language", "ne", "es", {"b"}),
        ("source", "eq", "checkout", {"b"}),
        ("first_name", "startswith", "An", {"a"}),
        ("email", "icontains", "B@EXAMPLE", {"b"}),
        ("confirmed_at", "is_null", True, {"b"}),
    ],
)
def test_builtin_subscription_columns(field, op, value, expected):
    SubscriptionFactory(email="a@example.com", first_name="Ana", frequency="weekly")
    SubscriptionFactory(
        email="b@example.com",
        first_name="Berta",
        frequency="monthly",
        language="en",
        source="checkout",
        confirmed_at=None,
    )
    SubscriptionFactory(email="c@example.com", status="pending", first_name="Ana")
    assert names(one(field, op, value)) == expected


# --- the issue's example ----------------------------------------------------------------------

EXAMPLE = {
    "operator": "AND",
    "conditions": [
        {"field": "pets__species", "op": "eq", "value": "dog"},
        {"field": "last_visit_date", "op": "gte", "value": "-90d"},
        {
            "operator": "OR",
            "conditions": [
                {"field": "lifetime_value", "op": "gte", "value": 1000},
                {"field": "topics", "op": "contains", "value": "promotions"},
            ],
        },
        {"not": {"field": "email_engagement", "op": "opened_in_last", "value": "30d"}},
    ],
}


def client(name, *, species=("dog",), visit=-10, spent=0, topics=("news",), opened=None, **sub):
    owner = member(name, topics=list(topics), **sub)
    for kind in species:
        PetFactory(owner=owner, species=kind)
    if visit is not None:
        AppointmentFactory(owner=owner, start=local_noon(visit))
    if spent:
        OrderFactory(owner=owner, total=Decimal(spent))
    if opened is not None:
        subscription = NewsletterSubscription.objects.get(owner=owner)
        SendFactory(subscription=subscription, opened_at=timezone.now() + dt.timedelta(opened))
    return owner


def test_the_issue_example():
    client("spender", spent=1500)
    client("promo", topics=("promotions",))
    client("plain")
    client("opener", spent=1500, opened=-5)
    client("catperson", species=("cat",), spent=1500)
    client("lapsed", visit=-200, spent=1500)
    client("twopets", species=("dog", "cat", "dog"), spent=2000, opened=-60)
    client("novisit", visit=None, spent=1500)
    client("gone", spent=1500, status="unsubscribed")
    client("paused", topics=("promotions",), is_paused=True)
    SubscriptionFactory(email="orphan@example.com", topics=["promotions"])
    assert names(EXAMPLE) == {"spender", "promo", "twopets"}


def test_the_issue_example_is_one_query():
    client("spender", spent=1500)
    client("twopets", species=("dog", "dog"), spent=2000)
    with CaptureQueriesContext(connection) as queries:
        emails = list(members_for_rules(EXAMPLE).values_list("email", flat=True))
    assert sorted(emails) == ["spender@example.com", "twopets@example.com"]
    assert len(queries) == 1
    assert "DISTINCT" not in queries[0]["sql"].upper()
