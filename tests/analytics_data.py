"""A hand-counted campaign for the analytics tests: sends built with factories, events fed
through ``tracking.events.record`` as the ESP webhook would.

T0 = 2025-03-03 10:15 UTC; ten subscribers s0…s9:

- s0…s5 sent at T0, s6 and s7 at T0+1h; s8 refused by the ESP at send time; s9 cancelled;
- delivered: s0…s5;
- opens: s0 at +10m and +2h, s1 at +1h30, s2 at +1h40 (s3 only clicks: a click is an open);
- clicks: s0 → A at +15m and +2h10, s1 → B at +1h45, s3 → A at +3h;
- s6 bounces for good at +1h05, s7 bounces softly at +1h10;
- s5 complains at +4h; s2 unsubscribes through the ESP at +4h.

So: recipients 9, sent 8, delivered 6, opened 4, clicked 3; 4 open and 4 click events;
bounces 1 permanent + 1 rejected (+1 transient); 1 complaint, 1 unsubscribe.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import count

from django_petmail.models import (
    BounceType,
    CampaignStatus,
    EmailCampaign,
    EmailSend,
    SendStatus,
)
from django_petmail.tracking.events import Incoming, record
from tests.factories import CampaignFactory, SendFactory, SubscriptionFactory

T0 = datetime(2025, 3, 3, 10, 15, tzinfo=UTC)
LINK_A = "https://huellas.example/otono"
LINK_B = "https://huellas.example/vacunas"
_event_ids = count(1)


def event(send: EmailSend, kind: str, at: datetime, **extra: str) -> None:
    """Record an anymail-normalized event (``delivered``, ``opened``…) about ``send``."""
    stored = record(
        Incoming(
            event_type=kind,
            event_id=f"evt-{next(_event_ids)}",
            message_id=send.esp_message_id,
            recipient=send.email_address,
            metadata={"send_id": send.pk},
            timestamp=at,
            **extra,
        )
    )
    assert stored is not None


def sent_send(mailing: dict, at: datetime, **fields: object) -> EmailSend:
    return SendFactory(
        **mailing,
        subscription=SubscriptionFactory(email=f"r{next(_event_ids)}@example.com"),
        status=SendStatus.SENT,
        sent_at=at,
        esp_message_id=f"msg-{next(_event_ids)}",
        **fields,
    )


def build_sends(mailing: dict) -> list[EmailSend]:
    """The ten sends of the module docstring for ``mailing`` (``{"campaign": c}`` or
    ``{"campaign": None, "sequence_step": step}``), with their events and the mailing's
    counters as the pipeline and tracking leave them."""
    sends = [sent_send(mailing, T0 if i < 6 else T0 + timedelta(hours=1)) for i in range(8)]
    sends.append(
        SendFactory(
            **mailing,
            status=SendStatus.BOUNCED,
            bounced_at=T0,
            bounce_type=BounceType.REJECTED,
        )
    )
    sends.append(SendFactory(**mailing, status=SendStatus.CANCELLED))
    s = sends
    # the counters as the sending pipeline left them: 8 sent, 1 refused
    s[0].mailing_rows().update(sent_count=8, bounce_count=1)
    for i in range(6):
        event(s[i], "delivered", T0 + timedelta(minutes=5))
    event(s[0], "opened", T0 + timedelta(minutes=10))
    event(s[0], "clicked", T0 + timedelta(minutes=15), click_url=LINK_A)
    event(s[6], "bounced", T0 + timedelta(hours=1, minutes=5), bounce_type="Permanent")
    event(s[7], "bounced", T0 + timedelta(hours=1, minutes=10), bounce_type="Transient")
    event(s[1], "opened", T0 + timedelta(hours=1, minutes=30))
    event(s[2], "opened", T0 + timedelta(hours=1, minutes=40))
    event(s[1], "clicked", T0 + timedelta(hours=1, minutes=45), click_url=LINK_B)
    event(s[0], "opened", T0 + timedelta(hours=2))
    event(s[0], "clicked", T0 + timedelta(hours=2, minutes=10), click_url=LINK_A)
    event(s[3], "clicked", T0 + timedelta(hours=3), click_url=LINK_A)
    event(s[5], "complained", T0 + timedelta(hours=4))
    event(s[2], "unsubscribed", T0 + timedelta(hours=4))
    return sends


def build_campaign(**fields: object) -> EmailCampaign:
    """The campaign of the module docstring, with 2 conversions worth 123.45."""
    campaign = CampaignFactory(
        status=CampaignStatus.SENT,
        recipient_count=9,
        started_at=T0,
        conversion_count=2,
        revenue_attributed=Decimal("123.45"),
        **fields,
    )
    build_sends({"campaign": campaign})
    campaign.refresh_from_db()
    return campaign
