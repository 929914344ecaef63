"""Sending starts after the commit that made the campaign ``sending``: a worker started
earlier (inside an admin action, under ``ATOMIC_REQUESTS``) would read a draft, stop, and
leave the campaign waiting for ``resume_stalled_campaigns``."""

import pytest
from django.core import mail
from django.db import transaction

from django_petmail import campaigns
from django_petmail.models import CampaignStatus, EmailCampaign
from tests.factories import CampaignFactory, SubscriptionFactory

pytestmark = pytest.mark.real_on_commit


@pytest.mark.django_db
def test_start_inside_a_transaction_enqueues_on_its_commit(django_capture_on_commit_callbacks):
    SubscriptionFactory.create_batch(3)
    campaign = CampaignFactory()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert campaigns.start(campaign) == 3
    assert mail.outbox == []  # nothing went out before the commit
    assert len(callbacks) == 2  # the state change, then the workers
    for callback in callbacks:  # what the commit runs
        callback()
    assert len(mail.outbox) == 3
    assert EmailCampaign.objects.get(pk=campaign.pk).status == CampaignStatus.SENT


@pytest.mark.django_db
def test_resume_inside_a_transaction_enqueues_on_its_commit(django_capture_on_commit_callbacks):
    SubscriptionFactory.create_batch(2)
    campaign = CampaignFactory()
    campaigns.start(campaign, enqueue=False)
    campaigns.pause(campaign)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        campaigns.resume(campaign)
        assert mail.outbox == []
    # the state change, the workers, and (queued by them) the campaign's completion
    assert len(callbacks) == 3
    assert len(mail.outbox) == 2


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_start_sends_nothing():
    SubscriptionFactory.create_batch(2)
    campaign = CampaignFactory()

    class Abort(Exception):
        pass

    with pytest.raises(Abort), transaction.atomic():
        campaigns.start(campaign)
        raise Abort
    assert mail.outbox == []
    assert EmailCampaign.objects.get(pk=campaign.pk).status == CampaignStatus.DRAFT


@pytest.mark.django_db(transaction=True)
def test_a_committed_start_sends_after_the_commit():
    SubscriptionFactory.create_batch(2)
    campaign = CampaignFactory()
    with transaction.atomic():
        campaigns.start(campaign)
        assert mail.outbox == []
    assert len(mail.outbox) == 2
    assert EmailCampaign.objects.get(pk=campaign.pk).status == CampaignStatus.SENT
