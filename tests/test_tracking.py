"""ESP tracking events → the send ledger, through anymail's real Amazon SES webhook view (SNS
notifications, as SES posts them): each event stored once, sends only move forward, unique
opens and clicks counted once, permanent bounces and complaints stop mail to the address.
Notifications are signed as SNS signs them (a throwaway certificate, see
``django_petmail.tracking.testing``); the signature checks themselves are in
test_sns_signatures."""

import base64
import json
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
from django.db import IntegrityError, transaction
from django.test import Client
from django.utils import timezone

from django_petmail import campaigns
from django_petmail.models import (
    CampaignStatus,
    EmailCampaign,
    EmailEvent,
    EmailSend,
    SendStatus,
    SubscriptionStatus,
    Suppression,
    SuppressionReason,
)
from django_petmail.models.subscriptions import email_hash
from django_petmail.sending.ab import decide
from django_petmail.sending.mailing import CampaignMailing
from django_petmail.tracking import events
from django_petmail.tracking.events import Incoming, record
from django_petmail.tracking.receiver import handle_tracking
from django_petmail.tracking.testing import sns_test_signer
from tests.factories import CampaignFactory, SendFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db

URL = "/anymail/amazon_ses/tracking/"
AUTH = "Basic " + base64.b64encode(b"petclinic:webhook-secret").decode()
_ids = iter(range(1, 10**6))


def ses_event(send, kind, *, send_id=True, message_id=None, **detail):
    """An SES event (configuration-set event publishing format) about one send, happening
    now: two calls make two events (SES tells them apart by their timestamps)."""
    when = timezone.now().isoformat().replace("+00:00", "Z")
    headers = []
    if send_id:
        metadata = {"campaign_id": send.campaign_id, "send_id": send.pk}
        headers.append({"name": "X-Metadata", "value": json.dumps(metadata)})
    event = {
        "eventType": kind,
        "mail": {
            "timestamp": when,
            "messageId": message_id or send.esp_message_id or "ses-unknown",
            "destination": [send.email_address],
            "headers": headers,
        },
    }
    if kind == "Bounce":
        event["bounce"] = {
            "bounceType": detail.get("bounce_type", "Permanent"),
            "bounceSubType": "General",
            "timestamp": when,
            "bouncedRecipients": [
                {"emailAddress": send.email_address, "diagnosticCode": "550 5.1.1 unknown"}
            ],
        }
    elif kind == "Complaint":
        event["complaint"] = {
            "complainedRecipients": [{"emailAddress": send.email_address}],
            "complaintFeedbackType": "abuse",
            "timestamp": when,
        }
    elif kind == "Delivery":
        event["delivery"] = {
            "recipients": [send.email_address],
            "smtpResponse": "250 ok",
            "timestamp": when,
        }
    elif kind == "Open":
        event["open"] = {"userAgent": "Mozilla/5.0", "timestamp": when}
    elif kind == "Click":
        event["click"] = {
            "link": detail.get("link", "https://huellas.example/otono"),
            "timestamp": when,
        }
    return event


TOPIC = "arn:aws:sns:eu-west-1:123456789012:petmail-tracking"


def sns_message(sns_id, **fields):
    """A signed SNS notification: ``fields`` over the defaults (Type, TopicArn, Timestamp)."""
    message = {
        "Type": "Notification",
        "MessageId": sns_id,
        "TopicArn": TOPIC,
        "Timestamp": timezone.now().isoformat().replace("+00:00", "Z"),
        **fields,
    }
    return sns_test_signer().sign(message)


def post(event, *, sns_id=None, auth=AUTH, body=None):
    """POST a signed SNS notification of ``event`` as SES would; ``body``: a dict of SNS
    fields (signed too) or a raw string. A server error comes back as a 500 response, as
    the ESP would see it."""
    sns_id = sns_id or f"sns-{next(_ids)}"
    if isinstance(body, dict):
        payload = json.dumps(sns_message(sns_id, **body))
    elif body is not None:
        payload = body
    else:
        payload = json.dumps(sns_message(sns_id, Message=json.dumps(event)))
    headers = {"x-amz-sns-message-type": "Notification", "x-amz-sns-message-id": sns_id}
    if auth:
        headers["authorization"] = auth
    client = Client(raise_request_exception=False)
    return client.post(URL, payload, content_type="text/plain", headers=headers)


@pytest.fixture
def sent():
    """A sent campaign send with the ESP's message id stored, as dispatch leaves it."""
    campaign = CampaignFactory(status=CampaignStatus.SENDING)
    return SendFactory(
        campaign=campaign,
        status=SendStatus.SENT,
        sent_at=timezone.now(),
        esp_message_id="0100018c-ses-message-id",
    )


def counters(send):
    c = EmailCampaign.objects.get(pk=send.campaign_id)
    return {
        "delivered": c.delivered_count,
        "opens": c.open_count,
        "clicks": c.click_count,
        "bounces": c.bounce_count,
        "complaints": c.complaint_count,
    }


def test_delivery_open_click_move_the_send_forward_and_count_once(sent):
    assert post(ses_event(sent, "Delivery")).status_code == 200
    sent.refresh_from_db()
    assert sent.status == SendStatus.DELIVERED and sent.delivered_at is not None
    post(ses_event(sent, "Open"))
    post(ses_event(sent, "Open"))  # a second open (another device): a new event, no new count
    post(ses_event(sent, "Click", link="https://huellas.example/vacunas"))
    sent.refresh_from_db()
    assert sent.status == SendStatus.CLICKED
    assert sent.opened_at is not None and sent.clicked_at is not None
    assert counters(sent) == {
        "delivered": 1,
        "opens": 1,
        "clicks": 1,
        "bounces": 0,
        "complaints": 0,
    }
    kinds = list(sent.events.order_by("pk").values_list("event_type", flat=True))
    assert kinds == ["delivery", "open", "open", "click"]
    assert sent.events.get(event_type="click").link_url == "https://huellas.example/vacunas"


def test_the_same_notification_twice_is_stored_and_counted_once(sent):
    from django.core.cache import cache

    event = ses_event(sent, "Open")
    assert post(event, sns_id="sns-repeated").status_code == 200
    assert post(event, sns_id="sns-repeated").status_code == 400  # a replay
    cache.clear()  # the replay memory gone (another process, a restart): the ledger holds
    assert post(event, sns_id="sns-repeated").status_code == 200
    assert EmailEvent.objects.filter(send=sent).count() == 1
    assert EmailEvent.objects.get(send=sent).esp_event_id.startswith("ses:")
    assert counters(sent)["opens"] == 1


def test_the_same_ses_event_in_two_sns_messages_is_stored_and_counted_once(sent):
    """SES publishes at least once: the same event again, in a new SNS message (its own
    MessageId and Timestamp, correctly signed), is accepted (200) and not stored again."""
    event = ses_event(sent, "Click", link="https://huellas.example/vacunas")
    assert post(event, sns_id="sns-first").status_code == 200
    assert post(event, sns_id="sns-second").status_code == 200
    assert post(ses_event(sent, "Click")).status_code == 200  # a second click: a new event
    assert sent.events.count() == 2
    assert counters(sent)["clicks"] == 1


def test_an_event_takes_the_time_ses_gives_it(sent):
    event = ses_event(sent, "Delivery")
    event["delivery"]["timestamp"] = "2030-01-02T03:04:05.678Z"
    post(event)
    sent.refresh_from_db()
    assert sent.delivered_at == datetime(2030, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
    event = ses_event(sent, "Open")
    event["open"]["timestamp"] = "2030-13-45T03:04:05Z"  # impossible: the SNS message's time
    post(event)
    sent.refresh_from_db()
    assert abs(sent.opened_at - timezone.now()).total_seconds() < 60


def test_a_repeat_inside_a_transaction_leaves_the_transaction_usable(sent):
    incoming = Incoming(
        event_type="delivered",
        event_id="ses-event-1",
        message_id=sent.esp_message_id,
        recipient=sent.email_address,
        metadata={},
    )
    with transaction.atomic():
        assert record(incoming) is not None
        assert record(incoming) is None  # the repeat, refused by the unique ESP event id
        assert EmailEvent.objects.filter(send=sent).count() == 1  # still usable
    assert counters(sent)["delivered"] == 1


def test_an_integrity_error_after_storing_is_not_taken_for_a_repeat(sent, monkeypatch):
    def broken(*args, **kwargs):
        raise IntegrityError("something else")

    monkeypatch.setattr(events, "_apply", broken)
    incoming = events.Incoming(
        event_type="delivered",
        event_id="ses-event-2",
        message_id=sent.esp_message_id,
        recipient=sent.email_address,
        metadata={},
    )
    with pytest.raises(IntegrityError):
        events.record(incoming)
    assert not EmailEvent.objects.filter(send=sent).exists()  # rolled back with it


def test_a_late_delivery_does_not_move_an_opened_send_back(sent):
    post(ses_event(sent, "Open"))
    post(ses_event(sent, "Delivery"))
    sent.refresh_from_db()
    assert sent.status == SendStatus.OPENED
    assert sent.delivered_at is not None  # the fact is kept, the state does not regress
    assert counters(sent)["delivered"] == 1


def test_a_click_without_an_open_counts_as_an_open_too(sent):
    post(ses_event(sent, "Click"))
    sent.refresh_from_db()
    assert (sent.status, sent.opened_at is not None) == (SendStatus.CLICKED, True)
    assert counters(sent)["opens"] == counters(sent)["clicks"] == 1


def test_a_permanent_bounce_is_terminal_and_suppresses_the_address(sent):
    post(ses_event(sent, "Delivery"))
    post(ses_event(sent, "Bounce", bounce_type="Permanent"))
    post(ses_event(sent, "Open"))  # after a terminal state engagement is stored, not applied
    sent.refresh_from_db()
    assert sent.status == SendStatus.BOUNCED
    assert sent.bounce_type == "Permanent" and sent.bounced_at is not None
    assert sent.subscription.status == SubscriptionStatus.BOUNCED
    suppression = Suppression.objects.get(email_hash=email_hash(sent.email_address))
    assert suppression.reason == SuppressionReason.BOUNCED
    assert counters(sent)["bounces"] == 1
    assert sent.events.filter(event_type="bounce").get().description.startswith("Permanent")


def test_a_transient_bounce_is_stored_and_changes_nothing(sent):
    post(ses_event(sent, "Bounce", bounce_type="Transient"))
    sent.refresh_from_db()
    assert sent.status == SendStatus.SENT
    assert sent.subscription.status == SubscriptionStatus.ACTIVE
    assert not Suppression.objects.exists()
    assert counters(sent)["bounces"] == 0
    assert sent.events.get().bounce_type == "Transient"


def test_a_complaint_ends_the_subscription_even_after_an_unsubscribe(sent):
    sub = sent.subscription
    sub.status = SubscriptionStatus.UNSUBSCRIBED
    sub.save()
    post(ses_event(sent, "Complaint"))
    sent.refresh_from_db()
    sub.refresh_from_db()
    assert sent.status == SendStatus.COMPLAINED
    assert sub.status == SubscriptionStatus.COMPLAINED
    assert Suppression.objects.get().reason == SuppressionReason.COMPLAINED
    assert counters(sent)["complaints"] == 1
    post(ses_event(sent, "Complaint"))  # a second report: stored, counted once
    assert counters(sent)["complaints"] == 1


def test_an_event_is_found_by_the_esp_message_id_without_metadata(sent):
    post(ses_event(sent, "Open", send_id=False))
    sent.refresh_from_db()
    assert sent.status == SendStatus.OPENED


@pytest.mark.parametrize(
    "change",
    [
        {"send_id": False, "message_id": "someone-elses-message"},  # not our mail
        {"recipient": "otra@example.com"},  # metadata of another address
    ],
)
def test_events_that_are_not_about_our_send_are_acknowledged_and_ignored(sent, change):
    event = ses_event(sent, "Open", send_id=change.get("send_id", True))
    if "message_id" in change:
        event["mail"]["messageId"] = change["message_id"]
    if "recipient" in change:
        event["mail"]["destination"] = [change["recipient"]]
    assert post(event).status_code == 200
    assert not EmailEvent.objects.exists()
    sent.refresh_from_db()
    assert sent.status == SendStatus.SENT


@pytest.mark.parametrize("send_id", ["not-a-number", -4, 2**70, True, None, [1]])
def test_malformed_send_ids_in_metadata_fall_back_to_the_message_id(sent, send_id):
    event = ses_event(sent, "Open", send_id=False)
    event["mail"]["headers"] = [{"name": "X-Metadata", "value": json.dumps({"send_id": send_id})}]
    assert post(event).status_code == 200
    sent.refresh_from_db()
    assert sent.status == SendStatus.OPENED


def test_bad_requests_are_refused_with_4xx_and_record_nothing(sent):
    assert post(ses_event(sent, "Open"), auth=None).status_code == 401
    wrong = "Basic " + base64.b64encode(b"petclinic:wrong").decode()
    assert post(ses_event(sent, "Open"), auth=wrong).status_code == 400
    mismatched = Client().post(
        URL,
        json.dumps({"Type": "Notification", "MessageId": "a", "Message": "{}"}),
        content_type="text/plain",
        headers={
            "authorization": AUTH,
            "x-amz-sns-message-type": "Notification",
            "x-amz-sns-message-id": "b",
        },
    )
    assert mismatched.status_code == 400
    assert not EmailEvent.objects.exists()


def test_unknown_event_kinds_are_ignored(sent):
    assert post(ses_event(sent, "DeliveryDelay")).status_code == 200
    assert not EmailEvent.objects.exists()


def test_an_esp_unsubscribe_is_attributed_to_the_send():
    from django_petmail.tracking.events import Incoming, record

    campaign = CampaignFactory(status=CampaignStatus.SENDING)
    send = SendFactory(campaign=campaign, status=SendStatus.SENT, esp_message_id="m-1")
    record(
        Incoming(
            event_type="unsubscribed",
            event_id="esp-unsub-1",
            message_id="m-1",
            recipient=send.email_address,
            metadata={},
        )
    )
    send.refresh_from_db()
    assert send.status == SendStatus.UNSUBSCRIBED
    assert send.subscription.status == SubscriptionStatus.UNSUBSCRIBED
    assert send.subscription.unsubscribe_source == "esp_report"
    assert EmailCampaign.objects.get(pk=campaign.pk).unsubscribe_count == 1


def test_the_signal_reports_each_stored_event_once(sent, catch_signal):
    from django_petmail import signals

    calls = catch_signal(signals.email_event_recorded)
    from django.core.cache import cache

    event = ses_event(sent, "Delivery")
    post(event, sns_id="sns-once")
    post(event, sns_id="sns-once")  # refused as a replay
    post(event, sns_id="sns-other")  # the same SES event in another SNS message
    cache.clear()  # the replay memory gone: the ledger stores it once anyway
    post(event, sns_id="sns-once")
    assert len(calls) == 1
    assert calls[0]["send"] == sent and calls[0]["event"].event_type == "delivery"


def test_opens_from_the_webhook_decide_an_ab_test():
    """The automatic A/B winner, fed by real tracking events: B's subject is opened."""
    for i in range(200):
        SubscriptionFactory(email=f"ab{i}@example.com")
    campaign = CampaignFactory(is_ab_test=True, ab_subject_b="Otra línea", ab_test_percent=50)
    campaigns.start(campaign)
    cohort = EmailSend.objects.filter(campaign=campaign, status=SendStatus.SENT)
    for send in cohort.filter(ab_variant="B")[:60]:
        post(ses_event(send, "Open"))
    for send in cohort.filter(ab_variant="A")[:10]:
        post(ses_event(send, "Open"))
    campaign.refresh_from_db()
    result = decide(campaign)
    assert result["winner"] == "B"
    assert result["significant"] is True


def test_events_that_beat_the_batch_to_the_database_are_not_lost():
    """SES reports within seconds; a rate-capped batch records its sends later. Engagement
    on a send still ``sending`` keeps its timestamp and the batch derives the status from it;
    a bounce is terminal at once and the batch does not count it as sent."""
    from django_petmail.sending.claims import claim_batch
    from django_petmail.sending.dispatch import dispatch_batch

    subs = [SubscriptionFactory(email=f"early{i}@example.com") for i in range(3)]
    campaign = CampaignFactory()
    campaigns.start(campaign, enqueue=False)
    ids = claim_batch(CampaignMailing(campaign), 10, "worker")
    opened, bounced, plain = (EmailSend.objects.get(subscription=s) for s in subs)
    assert opened.status == SendStatus.SENDING
    post(ses_event(opened, "Delivery", message_id="not-yet-stored"))
    post(ses_event(opened, "Open", message_id="not-yet-stored"))
    post(ses_event(bounced, "Bounce", message_id="not-yet-stored"))

    result = dispatch_batch(CampaignMailing(campaign), ids)

    statuses = dict(EmailSend.objects.filter(campaign=campaign).values_list("pk", "status"))
    assert statuses == {
        opened.pk: SendStatus.OPENED,
        bounced.pk: SendStatus.BOUNCED,
        plain.pk: SendStatus.SENT,
    }
    campaign.refresh_from_db()
    assert (result.sent, result.skipped) == (2, 0)  # the bounced one is no longer in flight
    assert (campaign.sent_count, campaign.open_count, campaign.delivered_count) == (2, 1, 1)
    assert campaign.bounce_count == 1


@pytest.mark.parametrize(
    ("kind", "status"),
    [("Send", SendStatus.SENT), ("Delivery", SendStatus.DELIVERED), ("Open", SendStatus.OPENED)],
)
def test_an_esp_event_resolves_a_send_the_reaper_left_unknown(kind, status):
    """The worker died mid-batch, so the reaper could not tell whether the message left;
    an event from the ESP about it says it did."""
    campaign = CampaignFactory(status=CampaignStatus.SENDING)
    send = SendFactory(campaign=campaign, status=SendStatus.UNKNOWN)
    post(ses_event(send, kind))
    send.refresh_from_db()
    assert send.status == status and send.sent_at is not None
    assert EmailCampaign.objects.get(pk=campaign.pk).sent_count == 1
    post(ses_event(send, "Delivery"))
    assert EmailCampaign.objects.get(pk=campaign.pk).sent_count == 1  # counted once


def test_event_times_come_from_the_esp_and_naive_ones_are_utc(sent):
    def anymail_event(event_id, timestamp):
        return SimpleNamespace(
            event_type="opened",
            event_id=event_id,
            message_id=sent.esp_message_id,
            recipient=sent.email_address,
            metadata={"send_id": str(sent.pk)},  # some ESPs hand metadata back as text
            timestamp=timestamp,
            esp_event=None,
            click_url=None,
            user_agent=None,
            description=None,
            mta_response=None,
        )

    handle_tracking(None, anymail_event("naive", datetime(2026, 11, 2, 9, 30)))
    sent.refresh_from_db()
    assert sent.opened_at == datetime(2026, 11, 2, 9, 30, tzinfo=UTC)
    handle_tracking(None, anymail_event("no-time", None))
    assert sent.events.get(esp_event_id="no-time").occurred_at is not None


@pytest.mark.parametrize("kind", ["Bounce", "Complaint"])
def test_an_address_that_cannot_be_mailed_leaves_every_sequence(sent, kind):
    from django_petmail.models import EnrollmentStatus
    from tests.factories import EnrollmentFactory, SequenceFactory

    marketing = EnrollmentFactory(subscription=sent.subscription)
    reminders = EnrollmentFactory(
        subscription=sent.subscription, sequence=SequenceFactory(is_marketing=False)
    )
    someone_else = EnrollmentFactory()
    post(ses_event(sent, kind))
    for enrollment in (marketing, reminders):
        enrollment.refresh_from_db()
        assert enrollment.status == EnrollmentStatus.CANCELLED
        assert (
            enrollment.cancelled_reason
            == sent.subscription.__class__.objects.get(pk=sent.subscription_id).status
        )
    someone_else.refresh_from_db()
    assert someone_else.status == EnrollmentStatus.ACTIVE


def test_a_transient_bounce_leaves_sequences_alone(sent):
    from django_petmail.models import EnrollmentStatus
    from tests.factories import EnrollmentFactory

    enrollment = EnrollmentFactory(subscription=sent.subscription)
    post(ses_event(sent, "Bounce", bounce_type="Transient"))
    enrollment.refresh_from_db()
    assert enrollment.status == EnrollmentStatus.ACTIVE


@pytest.mark.parametrize(
    "body",
    [
        "not json at all",
        json.dumps(["a", "list"]),
        {"Message": "{not json"},
        {"Message": json.dumps([1, 2])},
        {"Message": json.dumps({"eventType": "Bounce", "mail": {}})},  # no bounce details
    ],
)
def test_unreadable_payloads_are_refused_with_400_not_500(sent, body):
    response = post(None, sns_id="m1", body=body)
    assert response.status_code == 400
    assert not EmailEvent.objects.exists()


def test_inbound_mail_routed_to_the_tracking_url_stays_a_loud_configuration_error(sent):
    """Not bad input but a deployment mistake (an SES receipt rule publishing to the
    tracking topic): anymail's configuration error, a 500 in the error log, is kept."""
    body = {"Message": json.dumps({"notificationType": "Received", "mail": {}})}
    response = post(None, sns_id="m3", body=body)
    assert response.status_code == 500
    assert not EmailEvent.objects.exists()


def test_a_failure_after_parsing_is_a_500_so_the_esp_retries(sent, monkeypatch):
    from django.db import DatabaseError

    from django_petmail.tracking import receiver

    def database_down(incoming):
        raise DatabaseError("connection refused")

    monkeypatch.setattr(receiver, "record", database_down)
    event = ses_event(sent, "Open")
    response = post(None, sns_id="m2", body={"Message": json.dumps(event)})
    assert response.status_code == 500
    monkeypatch.undo()  # the database is back: SNS's retry of the same message is accepted
    assert post(None, sns_id="m2", body={"Message": json.dumps(event)}).status_code == 200
    assert EmailEvent.objects.filter(send=sent).count() == 1
