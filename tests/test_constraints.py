"""Database constraints hold the ledger's invariants, not Python checks."""

import pytest
from django.db import IntegrityError, transaction

from django_petmail.models import EmailEvent, EmailSend, SegmentMembership, SequenceEnrollment
from tests.factories import (
    CampaignFactory,
    EnrollmentFactory,
    EventFactory,
    SegmentFactory,
    SendFactory,
    SequenceFactory,
    StepFactory,
    SubscriptionFactory,
)

pytestmark = pytest.mark.django_db


def test_second_send_for_same_campaign_and_subscription_is_rejected():
    send = SendFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        EmailSend.objects.create(
            campaign=send.campaign,
            subscription=send.subscription,
            email_address=send.email_address,
        )
    assert EmailSend.objects.filter(campaign=send.campaign).count() == 1


def test_bulk_fan_out_ignoring_conflicts_keeps_one_row_per_recipient():
    campaign = CampaignFactory()
    subs = SubscriptionFactory.create_batch(3)
    rows = [EmailSend(campaign=campaign, subscription=s, email_address=s.email) for s in subs]
    EmailSend.objects.bulk_create(rows)
    again = [EmailSend(campaign=campaign, subscription=s, email_address=s.email) for s in subs]
    EmailSend.objects.bulk_create(again, ignore_conflicts=True)
    assert EmailSend.objects.filter(campaign=campaign).count() == 3


def test_same_subscription_may_receive_different_campaigns():
    sub = SubscriptionFactory()
    SendFactory(subscription=sub)
    SendFactory(subscription=sub)
    assert sub.email_sends.count() == 2


def test_second_send_for_same_step_and_enrollment_is_rejected():
    step = StepFactory()
    enrollment = EnrollmentFactory(sequence=step.sequence)
    EmailSend.objects.create(
        sequence_step=step, enrollment=enrollment, email_address="a@example.com"
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        EmailSend.objects.create(
            sequence_step=step, enrollment=enrollment, email_address="a@example.com"
        )


def test_duplicate_esp_event_id_is_rejected():
    event = EventFactory(esp_event_id="ses-123")
    with pytest.raises(IntegrityError), transaction.atomic():
        EmailEvent.objects.create(send=event.send, event_type="open", esp_event_id="ses-123")
    assert EmailEvent.objects.filter(esp_event_id="ses-123").count() == 1


def test_first_party_events_without_esp_id_do_not_collide():
    send = SendFactory()
    EmailEvent.objects.create(send=send, event_type="open")
    EmailEvent.objects.create(send=send, event_type="open")
    assert send.events.count() == 2


def test_enrollment_is_unique_per_sequence_and_subscription():
    enrollment = EnrollmentFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        SequenceEnrollment.objects.create(
            sequence=enrollment.sequence, subscription=enrollment.subscription
        )


def test_enrollment_is_unique_per_sequence_and_owner(owner):
    sequence = SequenceFactory()
    SequenceEnrollment.objects.create(sequence=sequence, owner=owner)
    with pytest.raises(IntegrityError), transaction.atomic():
        SequenceEnrollment.objects.create(sequence=sequence, owner=owner)


def test_enrollment_needs_an_owner_or_a_subscription():
    with pytest.raises(IntegrityError), transaction.atomic():
        SequenceEnrollment.objects.create(sequence=SequenceFactory())


def test_step_numbers_are_unique_within_a_sequence():
    step = StepFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        StepFactory(sequence=step.sequence, step_number=step.step_number)


def test_ab_test_percent_is_bounded():
    with pytest.raises(IntegrityError), transaction.atomic():
        CampaignFactory(ab_test_percent=101)


def test_static_segment_membership_is_unique():
    segment, sub = SegmentFactory(is_dynamic=False), SubscriptionFactory()
    SegmentMembership.objects.create(segment=segment, subscription=sub)
    with pytest.raises(IntegrityError), transaction.atomic():
        SegmentMembership.objects.create(segment=segment, subscription=sub)


def test_subscription_email_is_unique_after_normalization():
    SubscriptionFactory(email="Ana@Example.com")
    with pytest.raises(IntegrityError), transaction.atomic():
        SubscriptionFactory(email="  ana@EXAMPLE.COM ")
