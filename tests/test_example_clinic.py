"""The example clinic: bulk seeding, the demo command and the clinic's registered hooks."""

import re
from datetime import timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from clinic.models import AppointmentStatus, Cart, Pet, Vaccination
from clinic.seeding import seed_clinic
from django_petmail.analytics import reconcile
from django_petmail.conf import get_owner_model
from django_petmail.models import (
    ConsentEvent,
    EmailCampaign,
    NewsletterSubscription,
    SequenceStep,
)
from django_petmail.segments.fields import segment_fields
from django_petmail.sequences.registry import sequence_triggers, skip_conditions
from tests.factories import (
    AppointmentFactory,
    OrderFactory,
    OwnerFactory,
    PetFactory,
    SequenceFactory,
    SubscriptionFactory,
)

pytestmark = pytest.mark.django_db


def test_seed_creates_a_consistent_clinic():
    ticks = []
    report = seed_clinic(120, chunk_size=50, progress=ticks.append)
    assert ticks == [50, 50, 20]
    assert get_owner_model()._default_manager.count() == report.owners == 120
    assert Pet.objects.count() == report.pets > 0
    assert NewsletterSubscription.objects.count() == report.subscriptions
    assert 0.5 * 120 < report.subscriptions < 0.9 * 120
    assert ConsentEvent.objects.count() == report.consent_events
    assert sum(report.by_status.values()) == report.subscriptions
    # every subscription belongs to its owner and carries the owner's address
    sub = NewsletterSubscription.objects.select_related("owner").first()
    assert sub.email == sub.owner.email


def test_seed_is_reproducible_and_appends():
    first = seed_clinic(30, seed=7)
    second = seed_clinic(30, seed=7)
    assert first.pets == second.pets
    assert get_owner_model()._default_manager.count() == 60


def test_seed_command_and_its_validation():
    out = StringIO()
    call_command("seed_clinic", "--owners", "25", "--no-progress", stdout=out)
    assert "Seeded 25 owners" in out.getvalue()
    for args, message in [
        (["--owners", "-1"], "--owners"),
        (["--chunk-size", "0"], "--chunk-size"),
        (["--subscription-rate", "1.5"], "--subscription-rate"),
    ]:
        with pytest.raises(CommandError, match=message):
            call_command("seed_clinic", *args, stdout=StringIO())
    assert get_owner_model()._default_manager.count() == 25


@pytest.mark.django_db(transaction=True)
def test_demo_command_prints_the_report():
    out = StringIO()
    # 120 owners: enough for a few campaign recipients with either owner model
    call_command("demo", "--owners", "120", "--reset", stdout=out, stderr=StringIO())
    text = out.getvalue()
    assert "django-petmail demo report" in text
    assert "owners" in text and "120" in text
    assert "one-click      HTTP 200  status=unsubscribed" in text
    assert "consent ledger subscribed, confirmed, unsubscribed" in text
    assert "Segment 'perros-activos'" in text
    assert "A/B campaign (SMTP sink)" in text
    assert "Automated sequences (SMTP sink, 7 simulated days)" in text
    assert "Bienvenida (demo) (marketing, trigger signup)" in text
    assert "Recordatorio de vacunas (demo) (service, trigger vaccination_due)" in text
    # the A/B campaign's tracking through the SES webhook, two orders, and its report
    campaign = EmailCampaign.objects.get(name="Otoño: paseos seguros")
    assert f"Campaign report: {campaign.name} (SES events through the webhook)" in text
    assert re.search(
        r"SES events +\d+  delivery=\d+, open=\d+, click=\d+, bounce=1, complaint=1", text
    )
    assert f"funnel         recipients {campaign.recipient_count} → sent" in text
    assert re.search(r"rates          over delivered \(\d+\): open [\d.]+ %", text)
    assert "bounces               1  permanent=1" in text
    assert "complaints            1" in text
    assert "61.40  from 2 conversions" in text
    assert (campaign.conversion_count, campaign.revenue_attributed) == (2, Decimal("61.40"))
    assert "A/B winner" in text and "top link" in text
    assert f"report page    /admin/django_petmail/emailcampaign/{campaign.pk}/report/" in text
    assert re.search(r"complaint rate +[\d.]+ %  \(", text)
    assert "petmail_reconcile\n  Counters match the ledger: no drift." in text
    assert reconcile() == []
    with pytest.raises(CommandError, match="--owners"):
        call_command("demo", "--owners", "0", stdout=StringIO())


def _members(field, op, value):
    entry = segment_fields.get(field)
    return set(NewsletterSubscription.objects.filter(entry.lookup(op, value)))


def test_lifetime_value_counts_completed_orders_only():
    rich, poor, none_ = OwnerFactory(), OwnerFactory(), OwnerFactory()
    OrderFactory(owner=rich, total=Decimal("800"))
    OrderFactory(owner=rich, total=Decimal("300"))
    OrderFactory(owner=poor, total=Decimal("5000"), status="refunded")
    subs = {o: SubscriptionFactory(owner=o, email=o.email) for o in (rich, poor, none_)}
    assert _members("lifetime_value", "gte", 1000) == {subs[rich]}
    assert _members("lifetime_value", "lt", 1) == {subs[poor], subs[none_]}


def test_last_visit_date_uses_completed_appointments():
    recent, old = OwnerFactory(), OwnerFactory()
    now = timezone.now()
    AppointmentFactory(owner=recent, start=now - timedelta(days=10))
    AppointmentFactory(owner=old, start=now - timedelta(days=200))
    AppointmentFactory(owner=old, start=now - timedelta(days=5), status=AppointmentStatus.CANCELLED)
    subs = {o: SubscriptionFactory(owner=o, email=o.email) for o in (recent, old)}
    since = (now - timedelta(days=90)).date()
    assert _members("last_visit_date", "gte", since) == {subs[recent]}


def test_upcoming_appointment_field():
    soon = OwnerFactory()
    AppointmentFactory(
        owner=soon, start=timezone.now() + timedelta(days=3), status=AppointmentStatus.SCHEDULED
    )
    other = SubscriptionFactory()
    sub = SubscriptionFactory(owner=soon, email=soon.email)
    assert _members("has_upcoming_appointment", "eq", True) == {sub}
    assert _members("has_upcoming_appointment", "ne", True) == {other}


def test_skip_conditions_are_sql():
    buyer, browser = OwnerFactory(), OwnerFactory()
    OrderFactory(owner=buyer)
    q = skip_conditions.get("already_purchased")(True)
    assert list(get_owner_model()._default_manager.filter(q)) == [buyer]
    AppointmentFactory(
        owner=browser, start=timezone.now() + timedelta(days=1), status=AppointmentStatus.SCHEDULED
    )
    q = skip_conditions.get("has_appointment")(True)
    assert list(get_owner_model()._default_manager.filter(q)) == [browser]


def test_scheduled_triggers_find_owners_in_sql():
    now = timezone.now()
    due_owner, birthday_owner, cart_owner = OwnerFactory(), OwnerFactory(), OwnerFactory()
    pet = PetFactory(owner=due_owner)
    Vaccination.objects.create(pet=pet, vaccine="Rabia", due_date=now.date() + timedelta(days=5))
    PetFactory(
        owner=birthday_owner,
        birthday=now.date().replace(year=2019)
        if not (now.month == 2 and now.day == 29)
        else now.date().replace(year=2020),
    )
    Cart.objects.create(owner=cart_owner, item_count=2, updated=now - timedelta(hours=6))
    sequence = SequenceFactory(trigger_conditions={"days_before": 7, "hours": 4})
    assert list(sequence_triggers.get("vaccination_due")(sequence, now)) == [due_owner]
    assert list(sequence_triggers.get("birthday")(sequence, now)) == [birthday_owner]
    assert list(sequence_triggers.get("abandoned_cart")(sequence, now)) == [cart_owner]
    assert SequenceStep.objects.count() == 0
