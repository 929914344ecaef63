"""``reconcile``: counters recomputed from the send ledger. Zero drift after a real send and
its tracking events; planted drift is found, named and repaired."""

from __future__ import annotations

from datetime import timedelta

import pytest

from django_petmail import campaigns
from django_petmail.analytics import Drift, reconcile
from django_petmail.models import (
    CampaignStatus,
    EmailCampaign,
    EmailSend,
    SendStatus,
    SequenceStep,
)
from tests.analytics_data import LINK_A, T0, build_campaign, build_sends, event
from tests.factories import CampaignFactory, SendFactory, StepFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db


def test_no_drift_after_a_real_send_and_its_events():
    for i in range(6):
        SubscriptionFactory(email=f"real{i}@example.com")
    campaign = CampaignFactory()
    campaigns.start(campaign)  # sends in-process
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SENT and campaign.sent_count == 6
    sends = list(EmailSend.objects.filter(campaign=campaign).order_by("pk"))
    for send in sends[:4]:
        event(send, "delivered", T0)
    event(sends[0], "opened", T0 + timedelta(minutes=1))
    event(sends[0], "opened", T0 + timedelta(minutes=2))
    event(sends[1], "clicked", T0 + timedelta(minutes=3), click_url=LINK_A)
    event(sends[2], "bounced", T0, bounce_type="Permanent")
    event(sends[3], "bounced", T0, bounce_type="Transient")
    event(sends[4], "complained", T0)
    event(sends[5], "unsubscribed", T0)
    assert reconcile() == []


def test_no_drift_on_the_hand_counted_campaign_and_step():
    build_campaign()
    build_sends({"campaign": None, "sequence_step": StepFactory()})
    assert reconcile() == []


def test_planted_drift_is_found_and_repaired():
    campaign = build_campaign()
    step = StepFactory(step_number=3, subject="Recordatorio")
    build_sends({"campaign": None, "sequence_step": step})
    EmailCampaign.objects.filter(pk=campaign.pk).update(open_count=99, failed_count=2)
    SequenceStep.objects.filter(pk=step.pk).update(sent_count=0)
    empty = CampaignFactory(click_count=5)

    drifts = reconcile()
    assert sorted(drifts, key=lambda d: (d.kind, d.object_id, d.counter)) == [
        Drift("campaign", campaign.pk, campaign.name, "failed_count", 2, 0),
        Drift("campaign", campaign.pk, campaign.name, "open_count", 99, 4),
        Drift("campaign", empty.pk, empty.name, "click_count", 5, 0),
        Drift("step", step.pk, f"{step.sequence.name} #3", "sent_count", 0, 8),
    ]
    assert any(str(d).endswith("open_count stored 99, ledger 4") for d in drifts)
    assert EmailCampaign.objects.get(pk=campaign.pk).open_count == 99  # only reported

    assert len(reconcile(apply=True)) == 4
    assert reconcile() == []
    campaign.refresh_from_db()
    assert (campaign.open_count, campaign.failed_count) == (4, 0)
    assert SequenceStep.objects.get(pk=step.pk).sent_count == 8
    assert campaign.conversion_count == 2  # not from the send ledger: left alone


def test_failed_sends_count_as_failed():
    campaign = CampaignFactory(failed_count=1)
    SendFactory(campaign=campaign, status=SendStatus.FAILED)
    assert reconcile() == []


@pytest.mark.parametrize("n", [10, 200])
def test_reconcile_queries_do_not_grow_with_sends(n, django_assert_max_num_queries):
    campaign = CampaignFactory()
    EmailSend.objects.bulk_create(
        EmailSend(campaign=campaign, email_address=f"r{i}@example.com", status=SendStatus.SENT)
        for i in range(n)
    )
    with django_assert_max_num_queries(4):
        drifts = reconcile()
    assert drifts == []  # no sent_at: none was accepted
