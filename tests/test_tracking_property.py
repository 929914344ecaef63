"""Property: whatever the order and repetition of a send's ESP events, its final state,
timestamps and the campaign's counters are what a small reference says — the rules of the
tracking state machine written as plain Python over the set of events that happened.

The reference: complaints win over everything, then a permanent bounce; otherwise the
furthest engagement (click ⊃ open ⊃ delivery). ``SOFT_BOUNCE_LIMIT`` transient bounces with
no delivery between them stop the address (the bounce policy) but leave the send as it was.
Opens and clicks are unique (a click is also an open); a bounce counts only if no complaint
came first (a complained send stays complained); a repeated notification (same ESP event
id) is stored and applied once.
"""

from __future__ import annotations

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from django_petmail.conf import petmail_settings
from django_petmail.models import (
    CampaignStatus,
    EmailCampaign,
    EmailEvent,
    SendStatus,
    SubscriptionStatus,
)
from django_petmail.tracking.events import Incoming, record
from tests.factories import CampaignFactory, SendFactory

KINDS = ["delivered", "opened", "clicked", "bounced", "soft_bounced", "complained", "sent"]

# an event: (kind, ESP event id); a small id space makes repeats of one notification common
events_strategy = st.lists(
    st.tuples(st.sampled_from(KINDS), st.integers(min_value=0, max_value=5)),
    max_size=12,
)


def incoming(send, kind, event_id):
    return Incoming(
        event_type="bounced" if kind == "soft_bounced" else kind,
        event_id=f"{kind}-{event_id}",
        message_id=send.esp_message_id,
        recipient=send.email_address,
        metadata={"send_id": send.pk},
        bounce_type={"bounced": "Permanent", "soft_bounced": "Transient"}.get(kind, ""),
    )


def reference(events):
    seen, happened = set(), []
    for kind, event_id in events:
        if (kind, event_id) not in seen:  # a repeat of one notification is dropped
            seen.add((kind, event_id))
            happened.append(kind)
    kinds = set(happened)
    first_complaint = happened.index("complained") if "complained" in kinds else len(happened)
    bounced = "bounced" in happened[:first_complaint]
    if "complained" in kinds:
        status = SendStatus.COMPLAINED
    elif bounced:
        status = SendStatus.BOUNCED
    elif "clicked" in kinds:
        status = SendStatus.CLICKED
    elif "opened" in kinds:
        status = SendStatus.OPENED
    elif "delivered" in kinds:
        status = SendStatus.DELIVERED
    else:
        status = SendStatus.SENT
    # the bounce policy: SOFT_BOUNCE_LIMIT transient bounces stop the address as a permanent
    # one does; a delivery starts the count again
    soft, soft_stopped = 0, False
    for kind in happened:
        if kind == "soft_bounced":
            soft += 1
            soft_stopped = soft_stopped or soft >= petmail_settings.SOFT_BOUNCE_LIMIT
        elif kind == "delivered":
            soft = 0
    subscription = (
        SubscriptionStatus.COMPLAINED
        if "complained" in kinds
        else SubscriptionStatus.BOUNCED
        if "bounced" in kinds or soft_stopped
        else SubscriptionStatus.ACTIVE
    )
    counters = {
        "delivered_count": int("delivered" in kinds),
        "open_count": int(bool(kinds & {"opened", "clicked"})),
        "click_count": int("clicked" in kinds),
        "bounce_count": int(bounced),
        "complaint_count": int("complained" in kinds),
    }
    return status, subscription, counters, len(happened)


@pytest.mark.django_db
@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(events=events_strategy)
def test_any_order_and_repetition_of_events_ends_where_the_reference_says(events):
    with transaction.atomic():
        campaign = CampaignFactory(status=CampaignStatus.SENDING)
        send = SendFactory(campaign=campaign, status=SendStatus.SENT, esp_message_id="m")
        for kind, event_id in events:
            record(incoming(send, kind, event_id))
        status, subscription, counters, stored = reference(events)
        send.refresh_from_db()
        assert send.status == status, events
        assert send.subscription.status == subscription, events
        campaign = EmailCampaign.objects.get(pk=campaign.pk)
        assert {name: getattr(campaign, name) for name in counters} == counters, events
        assert EmailEvent.objects.filter(send=send).count() == stored
        assert (send.opened_at is not None) == bool(counters["open_count"])
        assert (send.clicked_at is not None) == bool(counters["click_count"])
        transaction.set_rollback(True)
