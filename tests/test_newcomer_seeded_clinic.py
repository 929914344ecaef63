"""The seeded clinic tells a consistent story: asked, then confirmed, then (maybe) left."""

import pytest
from django.db.models import F

from clinic.seeding import seed_clinic
from django_petmail.models import ConsentEvent, ConsentEventType, NewsletterSubscription

pytestmark = pytest.mark.django_db


def test_no_seeded_subscription_is_confirmed_before_it_was_subscribed():
    seed_clinic(200, chunk_size=80)
    subs = NewsletterSubscription.objects.all()
    assert subs.filter(confirmed_at__isnull=False).exists()
    assert not subs.filter(confirmed_at__lt=F("subscribed_at")).exists()
    assert not subs.filter(unsubscribed_at__lt=F("confirmed_at")).exists()
    for sub in subs.filter(confirmed_at__isnull=False).prefetch_related("consent_events"):
        events = {e.event: e.timestamp for e in sub.consent_events.all()}
        assert events[ConsentEventType.SUBSCRIBED] == sub.subscribed_at
        assert events[ConsentEventType.CONFIRMED] == sub.confirmed_at
    assert (
        ConsentEvent.objects.filter(event=ConsentEventType.CONFIRMED).count()
        == subs.filter(confirmed_at__isnull=False).count()
    )
