"""Campaigns left behind are recovered or reported, never resent: reaped batches, campaigns
broken after scheduling, lost tasks."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from django_petmail import campaigns
from django_petmail.models import CampaignStatus, CustomerSegment, EmailCampaign, EmailSend
from django_petmail.tasks import reap_stuck_sends, start_due_campaigns
from tests.factories import CampaignFactory, SegmentFactory

pytestmark = pytest.mark.django_db


def test_reaping_the_last_sends_completes_the_campaign(subs, settings):
    campaign = CampaignFactory()
    campaigns.start(campaign, enqueue=False)
    stale = timezone.now() - timedelta(hours=2)
    EmailSend.objects.filter(campaign=campaign).update(status="sending", claimed_at=stale)
    reaped = reap_stuck_sends()
    assert len(reaped) == 3
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SENT
    assert set(EmailSend.objects.values_list("status", flat=True)) == {"unknown"}
    assert mail.outbox == []  # never resent


def test_a_scheduled_campaign_broken_since_goes_back_to_draft(subs):
    segment = SegmentFactory(
        rules={"operator": "AND", "conditions": [{"field": "language", "op": "eq", "value": "es"}]}
    )
    campaign = CampaignFactory(segment=segment)
    campaigns.schedule(campaign, timezone.now() + timedelta(minutes=5))
    CustomerSegment.objects.filter(pk=segment.pk).update(rules={"operator": "XOR"})
    EmailCampaign.objects.filter(pk=campaign.pk).update(
        scheduled_at=timezone.now() - timedelta(minutes=1)
    )
    assert start_due_campaigns() == []
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.DRAFT
    assert not EmailSend.objects.exists()
    assert start_due_campaigns() == []  # not retried every minute


def test_a_campaign_whose_tasks_were_lost_is_resumed(subs):
    from django_petmail.tasks import resume_stalled_campaigns

    campaign = CampaignFactory()
    campaigns.start(campaign, enqueue=False)  # as if the queued tasks never ran
    assert resume_stalled_campaigns() == []  # recent activity: maybe just slow
    EmailSend.objects.filter(campaign=campaign).update(
        updated_at=timezone.now() - timedelta(hours=1)
    )
    assert resume_stalled_campaigns() == [campaign.pk]
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SENT  # eager tasks drained it
    assert len(mail.outbox) == 3
    assert resume_stalled_campaigns() == []


def test_paused_campaigns_are_not_resumed(subs):
    from django_petmail.tasks import resume_stalled_campaigns

    campaign = CampaignFactory()
    campaigns.start(campaign, enqueue=False)
    campaigns.pause(campaign)
    EmailSend.objects.filter(campaign=campaign).update(
        updated_at=timezone.now() - timedelta(hours=1)
    )
    assert resume_stalled_campaigns() == []
    assert mail.outbox == []
