"""Celery tasks: the names operators schedule and monitor, and what each does when there is
nothing (or nothing valid) to do."""

from datetime import timedelta

import pytest
from celery import current_app
from django.conf import settings
from django.core import mail
from django.test import override_settings
from django.utils import timezone

from django_petmail import campaigns, tasks
from django_petmail.models import CampaignStatus, CustomerSegment, EmailCampaign, EmailSend
from django_petmail.sending.claims import claim_batch
from django_petmail.sending.mailing import CampaignMailing
from tests.factories import CampaignFactory, SegmentFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db

NAMES = {
    "send_campaign_batch": "django_petmail.tasks.send_campaign_batch",
    "update_segment_counts": "django_petmail.tasks.update_segment_counts",
    "start_due_campaigns": "django_petmail.tasks.start_due_campaigns",
    "pick_ab_winners": "django_petmail.tasks.pick_ab_winners",
    "reap_stuck_sends": "django_petmail.tasks.reap_stuck_sends",
}
NOTHING_DONE = {
    "batches": 0,
    "sent": 0,
    "failed": 0,
    "bounced": 0,
    "skipped": 0,
    "retried": 0,
    "more": False,
    "done": False,
    "fatal": "",
    "stopped": True,  # the campaign may not send: nothing was claimed
}


def petmail(**overrides):
    return override_settings(PETMAIL={**settings.PETMAIL, **overrides})


@pytest.mark.parametrize(("attribute", "name"), sorted(NAMES.items()))
def test_task_names_are_stable(attribute, name):
    task = getattr(tasks, attribute)
    assert task.name == name
    assert current_app.tasks[name].name == name
    assert current_app.tasks[name].run.__qualname__ == task.run.__qualname__


def test_send_campaign_batch_sends_a_sending_campaign():
    subs = SubscriptionFactory.create_batch(3)
    campaign = CampaignFactory()
    campaigns.start(campaign, enqueue=False)

    result = tasks.send_campaign_batch.delay(campaign.pk).get()

    assert (result["batches"], result["sent"], result["more"]) == (1, 3, False)
    assert sorted(a for m in mail.outbox for a in m.to) == sorted(s.email for s in subs)
    assert EmailCampaign.objects.get(pk=campaign.pk).status == CampaignStatus.SENT


def test_send_campaign_batch_drains_every_batch():
    SubscriptionFactory.create_batch(5)
    campaign = CampaignFactory()
    campaigns.start(campaign, enqueue=False)
    with petmail(BATCH_SIZE=2):
        result = tasks.send_campaign_batch(campaign.pk)
    assert (result["batches"], result["sent"]) == (3, 5)
    assert len(mail.outbox) == 5


@pytest.mark.parametrize("status", ["draft", "scheduled", "paused", "sent", "cancelled"])
def test_send_campaign_batch_does_nothing_unless_sending(status):
    SubscriptionFactory.create_batch(2)
    campaign = CampaignFactory()
    campaigns.start(campaign, enqueue=False)
    EmailCampaign.objects.filter(pk=campaign.pk).update(status=status)

    assert tasks.send_campaign_batch(campaign.pk) == NOTHING_DONE

    assert mail.outbox == []
    assert set(EmailSend.objects.values_list("status", flat=True)) == {"pending"}
    assert EmailCampaign.objects.get(pk=campaign.pk).status == status


def test_send_campaign_batch_of_a_missing_campaign_does_nothing():
    assert tasks.send_campaign_batch(987654) == NOTHING_DONE
    assert tasks.send_campaign_batch.delay("987654").get() == NOTHING_DONE
    assert mail.outbox == []


def test_send_campaign_batch_twice_sends_once():
    SubscriptionFactory.create_batch(3)
    campaign = CampaignFactory()
    campaigns.start(campaign, enqueue=False)
    tasks.send_campaign_batch(campaign.pk)
    assert tasks.send_campaign_batch(campaign.pk)["sent"] == 0
    assert len(mail.outbox) == 3


def test_start_due_campaigns_starts_each_due_campaign_once():
    SubscriptionFactory.create_batch(2)
    due = [CampaignFactory(is_important=True), CampaignFactory(is_important=True)]
    later = CampaignFactory()
    for campaign in [*due, later]:
        campaigns.schedule(campaign, timezone.now() + timedelta(hours=1))
    EmailCampaign.objects.filter(pk__in=[c.pk for c in due]).update(
        scheduled_at=timezone.now() - timedelta(minutes=1)
    )

    assert sorted(tasks.start_due_campaigns.delay().get()) == sorted(c.pk for c in due)
    assert tasks.start_due_campaigns() == []

    for campaign in due:
        campaign.refresh_from_db()
        assert campaign.status == CampaignStatus.SENT
        assert campaign.recipient_count == 2
    assert EmailCampaign.objects.get(pk=later.pk).status == CampaignStatus.SCHEDULED
    assert len(mail.outbox) == 4


def test_start_due_campaigns_skips_invalid_ones():
    segment = SegmentFactory()
    broken = CampaignFactory(segment=segment)
    campaigns.schedule(broken, timezone.now() + timedelta(hours=1))
    CustomerSegment.objects.filter(pk=segment.pk).update(
        rules={"operator": "AND", "conditions": [{"field": "gone", "op": "eq", "value": 1}]}
    )
    EmailCampaign.objects.filter(pk=broken.pk).update(scheduled_at=timezone.now())
    assert tasks.start_due_campaigns() == []
    assert EmailCampaign.objects.get(pk=broken.pk).status == CampaignStatus.DRAFT


def test_pick_ab_winners_with_nothing_to_decide():
    CampaignFactory(status="sending")
    CampaignFactory(status="sent", is_ab_test=True, ab_subject_b="B")
    assert tasks.pick_ab_winners() == {}


def test_reap_stuck_sends_uses_the_lease_setting():
    SubscriptionFactory.create_batch(3)
    campaign = CampaignFactory()
    campaigns.start(campaign, enqueue=False)
    claimed = claim_batch(CampaignMailing(campaign), 2, "gone")
    EmailSend.objects.filter(pk__in=claimed).update(
        claimed_at=timezone.now() - timedelta(minutes=10)
    )
    assert tasks.reap_stuck_sends() == []  # default lease: 15 minutes
    with petmail(SEND_LEASE_SECONDS=300):
        assert sorted(tasks.reap_stuck_sends.delay().get()) == sorted(claimed)
    assert EmailSend.objects.filter(status="unknown").count() == 2
    assert EmailSend.objects.filter(status="pending").count() == 1


def test_update_segment_counts():
    SubscriptionFactory.create_batch(2, language="en")
    SubscriptionFactory(language="es")
    english = SegmentFactory(
        rules={"operator": "AND", "conditions": [{"field": "language", "op": "eq", "value": "en"}]}
    )
    everyone = SegmentFactory()
    broken = SegmentFactory()
    CustomerSegment.objects.filter(pk=broken.pk).update(
        rules={"operator": "AND", "conditions": [{"field": "gone", "op": "eq", "value": 1}]}
    )
    SegmentFactory(is_active=False)

    assert tasks.update_segment_counts() == {"refreshed": 3, "invalid": [broken.pk]}
    assert CustomerSegment.objects.get(pk=english.pk).member_count == 2
    assert CustomerSegment.objects.get(pk=everyone.pk).member_count == 3
    assert tasks.update_segment_counts([english.pk]) == {"refreshed": 1, "invalid": []}
