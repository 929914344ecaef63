"""The campaign lifecycle: draft → scheduled → sending ⇄ paused → sent, and cancelled;
readiness checks, scheduling, pause/resume/cancel, counters, progress, preview, test sends."""

import email
import email.policy
import itertools
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.core import mail
from django.core.exceptions import ValidationError
from django.test import override_settings
from django.utils import timezone

from django_petmail import campaigns, signals
from django_petmail.exceptions import InvalidTransition
from django_petmail.models import (
    CAMPAIGN_TRANSITIONS,
    CampaignStatus,
    CustomerSegment,
    EmailCampaign,
    EmailSend,
    SendStatus,
)
from django_petmail.tasks import send_campaign_batch, start_due_campaigns
from tests.factories import (
    CampaignFactory,
    SegmentFactory,
    SendFactory,
    SubscriptionFactory,
    TemplateFactory,
)

pytestmark = pytest.mark.django_db

STATES = [choice.value for choice in CampaignStatus]
ALLOWED = {
    ("draft", "scheduled"),
    ("draft", "sending"),
    ("draft", "cancelled"),
    ("scheduled", "draft"),
    ("scheduled", "sending"),
    ("scheduled", "cancelled"),
    ("sending", "paused"),
    ("sending", "sent"),
    ("paused", "sending"),
    ("paused", "cancelled"),
}
VALID_RULES = {"operator": "AND", "conditions": [{"field": "language", "op": "eq", "value": "en"}]}
BROKEN_RULES = {"operator": "AND", "conditions": [{"field": "gone", "op": "eq", "value": "x"}]}


def petmail(**overrides):
    return override_settings(PETMAIL={**settings.PETMAIL, **overrides})


def recipients():
    return sorted(address for message in mail.outbox for address in message.to)


def statuses(campaign):
    return sorted(EmailSend.objects.filter(campaign=campaign).values_list("status", flat=True))


@pytest.fixture
def subs():
    return [SubscriptionFactory(first_name=name) for name in ("Ana", "Luis", "Eva", "Juan")]


# --- the state machine ------------------------------------------------------------------------


def test_the_state_machine_is_the_designed_one():
    allowed = {(a, b) for a, targets in CAMPAIGN_TRANSITIONS.items() for b in targets}
    assert allowed == ALLOWED


@pytest.mark.parametrize(("current", "target"), sorted(ALLOWED))
def test_allowed_transitions_move_and_announce(current, target, catch_signal):
    calls = catch_signal(signals.campaign_state_changed)
    campaign = CampaignFactory(status=current)
    assert campaign.can_transition_to(target)

    campaigns.transition(campaign, target)

    assert campaign.status == target
    assert EmailCampaign.objects.get(pk=campaign.pk).status == target
    assert [(c["previous"], c["current"], c["campaign"].pk) for c in calls] == [
        (current, target, campaign.pk)
    ]


@pytest.mark.parametrize(
    ("current", "target"),
    sorted(set(itertools.product(STATES, STATES)) - ALLOWED),
)
def test_forbidden_transitions_raise_and_change_nothing(current, target, catch_signal):
    calls = catch_signal(signals.campaign_state_changed)
    campaign = CampaignFactory(status=current)
    assert not campaign.can_transition_to(target)

    with pytest.raises(InvalidTransition) as excinfo:
        campaigns.transition(campaign, target)

    assert str(excinfo.value) == f"A campaign cannot go from {current!r} to {target!r}."
    assert (excinfo.value.current, excinfo.value.target) == (current, target)
    assert EmailCampaign.objects.get(pk=campaign.pk).status == current
    assert calls == []


@pytest.mark.parametrize(
    ("verb", "status"),
    [
        ("start", "sending"),
        ("start", "paused"),
        ("start", "sent"),
        ("start", "cancelled"),
        ("pause", "draft"),
        ("pause", "paused"),
        ("resume", "draft"),
        ("resume", "sending"),
        ("cancel", "sending"),
        ("cancel", "sent"),
        ("cancel", "cancelled"),
    ],
)
def test_lifecycle_verbs_refuse_the_wrong_state(verb, status, subs):
    campaign = CampaignFactory(status=status)
    with pytest.raises(InvalidTransition) as excinfo:
        getattr(campaigns, verb)(campaign)
    target = {"start": "sending", "pause": "paused", "resume": "sending", "cancel": "cancelled"}
    assert str(excinfo.value) == f"A campaign cannot go from {status!r} to {target[verb]!r}."
    assert EmailCampaign.objects.get(pk=campaign.pk).status == status
    assert not EmailSend.objects.filter(campaign=campaign).exists()
    assert mail.outbox == []


def test_a_stale_instance_loses_the_race_and_learns_the_real_state():
    campaign = CampaignFactory(status="draft")
    stale = EmailCampaign.objects.get(pk=campaign.pk)
    campaigns.transition(campaign, CampaignStatus.CANCELLED)

    with pytest.raises(InvalidTransition) as excinfo:
        campaigns.transition(stale, CampaignStatus.SCHEDULED)

    assert excinfo.value.current == "cancelled"
    assert stale.status == "cancelled"
    assert EmailCampaign.objects.get(pk=campaign.pk).status == "cancelled"


# --- starting ---------------------------------------------------------------------------------


def test_start_fans_out_sends_and_completes(subs):
    campaign = CampaignFactory()

    assert campaigns.start(campaign) == 4

    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SENT
    assert campaign.started_at is not None
    assert campaign.completed_at is not None
    assert campaign.recipient_count == 4
    assert campaign.sent_count == 4
    assert (campaign.failed_count, campaign.bounce_count) == (0, 0)
    assert recipients() == sorted(s.email for s in subs)
    assert statuses(campaign) == ["sent"] * 4


def test_two_starts_of_the_same_campaign_start_it_once(subs):
    first = CampaignFactory()
    second = EmailCampaign.objects.get(pk=first.pk)  # another admin's copy, still a draft

    assert campaigns.start(first) == 4
    with pytest.raises(InvalidTransition):
        campaigns.start(second)

    assert EmailSend.objects.filter(campaign=first).count() == 4
    assert recipients() == sorted(s.email for s in subs)
    assert EmailCampaign.objects.get(pk=first.pk).sent_count == 4


def test_starting_a_paused_campaign_is_refused_resume_continues_it(subs):
    campaign = CampaignFactory(is_ab_test=True, ab_subject_b="B", ab_test_percent=50)
    campaigns.start(campaign, enqueue=False)
    campaigns.pause(campaign)
    SubscriptionFactory()  # joined meanwhile
    before = statuses(campaign)

    with pytest.raises(InvalidTransition):
        campaigns.start(campaign)

    assert statuses(campaign) == before  # no second fan-out, no second A/B cohort
    assert EmailCampaign.objects.get(pk=campaign.pk).status == CampaignStatus.PAUSED
    assert EmailCampaign.objects.get(pk=campaign.pk).recipient_count == 4


def test_start_without_enqueue_leaves_everything_pending(subs):
    campaign = CampaignFactory()
    assert campaigns.start(campaign, enqueue=False) == 4
    assert campaign.status == CampaignStatus.SENDING
    assert statuses(campaign) == ["pending"] * 4
    assert mail.outbox == []


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"subject": ""}, "subject"),
        ({"subject": "   "}, "subject"),
        ({"html_content": ""}, "html_content"),
        ({"html_content": " \n "}, "html_content"),
        ({"html_content": "{% include 'x.html' %}"}, "html_content"),
        ({"subject": "{{ first_name.upper() }}"}, "subject"),
        ({"preview_text": "{{ _x }}"}, "preview_text"),
        ({"text_content": "{% load i18n %}"}, "text_content"),
        ({"is_ab_test": True}, "ab_subject_b"),
        ({"is_ab_test": True, "ab_subject_b": "B", "ab_test_percent": 0}, "ab_test_percent"),
        ({"is_ab_test": True, "ab_html_content_b": "{{ x() }}"}, "ab_html_content_b"),
        ({"is_ab_test": True, "ab_subject_b": "{% debug %}"}, "ab_subject_b"),
    ],
)
def test_a_campaign_that_is_not_ready_cannot_start(fields, field, subs):
    campaign = CampaignFactory(**fields)

    with pytest.raises(ValidationError) as excinfo:
        campaigns.start(campaign)

    assert field in excinfo.value.message_dict
    assert EmailCampaign.objects.get(pk=campaign.pk).status == "draft"
    assert not EmailSend.objects.filter(campaign=campaign).exists()
    assert field in campaigns.content_errors(campaign)  # what admin and API report


def test_missing_subject_and_content_are_both_reported():
    campaign = CampaignFactory(subject="", html_content="")
    with pytest.raises(ValidationError) as excinfo:
        campaigns.ensure_ready(campaign)
    assert excinfo.value.message_dict == {
        "subject": ["Una campaña necesita un asunto."],  # LANGUAGE_CODE is "es"
        "html_content": ["Una campaña necesita contenido."],
    }


def test_content_may_come_from_the_template(subs):
    template = TemplateFactory(html_content="<p>De plantilla para {{ first_name }}</p>")
    campaign = CampaignFactory(html_content="", template=template)
    assert campaigns.content_errors(campaign) == {}

    campaigns.start(campaign)

    ana = next(m for m in mail.outbox if m.to == [subs[0].email])
    assert "De plantilla para Ana" in ana.alternatives[0][0]


@pytest.mark.parametrize("fresh", [True, False], ids=["fresh", "segment-changed-meanwhile"])
def test_starting_with_an_invalid_segment_is_refused_on_the_segment(fresh, subs):
    segment = SegmentFactory(rules=VALID_RULES)
    campaign = CampaignFactory(segment=segment)  # caches the segment with valid rules
    CustomerSegment.objects.filter(pk=segment.pk).update(rules=BROKEN_RULES)
    if fresh:
        campaign = EmailCampaign.objects.get(pk=campaign.pk)

    with pytest.raises(ValidationError) as excinfo:
        campaigns.start(campaign)

    assert list(excinfo.value.message_dict) == ["segment"]
    assert "gone" in excinfo.value.message_dict["segment"][0]
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.DRAFT
    assert campaign.started_at is None
    assert not EmailSend.objects.filter(campaign=campaign).exists()
    assert mail.outbox == []


# --- scheduling -------------------------------------------------------------------------------


def test_schedule_in_the_future():
    campaign = CampaignFactory()
    when = timezone.now() + timedelta(hours=2)

    campaigns.schedule(campaign, when)

    assert campaign.status == CampaignStatus.SCHEDULED
    assert campaign.scheduled_at == when


def test_rescheduling_a_scheduled_campaign_moves_its_time():
    campaign = CampaignFactory()
    campaigns.schedule(campaign, timezone.now() + timedelta(hours=2))
    later = timezone.now() + timedelta(days=1)

    campaigns.schedule(campaign, later)

    assert campaign.status == CampaignStatus.SCHEDULED
    assert EmailCampaign.objects.get(pk=campaign.pk).scheduled_at == later


def test_schedule_accepts_any_time_zone():
    campaign = CampaignFactory()
    when = (timezone.now() + timedelta(hours=1)).astimezone(ZoneInfo("America/Mexico_City"))
    campaigns.schedule(campaign, when)
    assert EmailCampaign.objects.get(pk=campaign.pk).scheduled_at == when


@pytest.mark.parametrize(
    ("when", "message"),
    [
        (lambda: timezone.now() - timedelta(minutes=1), "The scheduled time is in the past."),
        (lambda: timezone.now(), "The scheduled time is in the past."),
        (
            lambda: timezone.now().replace(tzinfo=None) + timedelta(days=1),
            "Give a time zone-aware date and time.",
        ),
    ],
    ids=["past", "now", "naive"],
)
def test_bad_schedules_are_refused_on_scheduled_at(when, message):
    campaign = CampaignFactory()
    with pytest.raises(ValidationError) as excinfo:
        campaigns.schedule(campaign, when())
    assert excinfo.value.message_dict == {"scheduled_at": [message]}
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.DRAFT
    assert campaign.scheduled_at is None


def test_a_campaign_that_is_not_ready_cannot_be_scheduled():
    campaign = CampaignFactory(subject="")
    with pytest.raises(ValidationError) as excinfo:
        campaigns.schedule(campaign, timezone.now() + timedelta(hours=1))
    assert "subject" in excinfo.value.message_dict
    assert EmailCampaign.objects.get(pk=campaign.pk).status == CampaignStatus.DRAFT


def test_due_campaigns_start_exactly_once(subs):
    campaign = CampaignFactory()
    campaigns.schedule(campaign, timezone.now() + timedelta(minutes=5))
    not_yet = CampaignFactory()
    campaigns.schedule(not_yet, timezone.now() + timedelta(hours=5))

    assert start_due_campaigns() == []  # nothing due yet
    EmailCampaign.objects.filter(pk=campaign.pk).update(
        scheduled_at=timezone.now() - timedelta(seconds=1)
    )

    assert start_due_campaigns() == [campaign.pk]
    assert start_due_campaigns() == []

    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SENT
    assert EmailSend.objects.filter(campaign=campaign).count() == 4
    assert recipients() == sorted(s.email for s in subs)
    assert EmailCampaign.objects.get(pk=not_yet.pk).status == CampaignStatus.SCHEDULED


def test_a_broken_due_campaign_does_not_block_the_others(subs):
    segment = SegmentFactory(rules=VALID_RULES)
    broken = CampaignFactory(segment=segment)
    fine = CampaignFactory()
    for campaign in (broken, fine):
        campaigns.schedule(campaign, timezone.now() + timedelta(minutes=5))
    CustomerSegment.objects.filter(pk=segment.pk).update(rules=BROKEN_RULES)
    EmailCampaign.objects.update(scheduled_at=timezone.now() - timedelta(minutes=1))

    assert start_due_campaigns() == [fine.pk]

    assert (
        EmailCampaign.objects.get(pk=broken.pk).status == CampaignStatus.DRAFT
    )  # returned to staff, not retried
    assert not EmailSend.objects.filter(campaign=broken).exists()
    assert EmailCampaign.objects.get(pk=fine.pk).status == CampaignStatus.SENT


def test_a_scheduled_campaign_that_was_cancelled_is_not_started(subs):
    campaign = CampaignFactory()
    campaigns.schedule(campaign, timezone.now() + timedelta(minutes=5))
    campaigns.cancel(campaign)
    EmailCampaign.objects.filter(pk=campaign.pk).update(scheduled_at=timezone.now())
    assert start_due_campaigns() == []
    assert mail.outbox == []


# --- pause, resume, cancel --------------------------------------------------------------------


def test_pause_stops_claiming(subs):
    campaign = CampaignFactory()
    campaigns.start(campaign, enqueue=False)
    campaigns.pause(campaign)

    assert campaigns.deliver(campaign.pk).batches == 0
    send_campaign_batch(campaign.pk)

    assert mail.outbox == []
    assert statuses(campaign) == ["pending"] * 4
    assert EmailCampaign.objects.get(pk=campaign.pk).status == CampaignStatus.PAUSED


def test_resume_sends_only_the_remaining_pending_sends(subs):
    campaign = CampaignFactory()
    campaigns.start(campaign, enqueue=False)
    with petmail(BATCH_SIZE=2):
        first = campaigns.deliver(campaign.pk, budget_seconds=0)  # one batch, then out of time
    assert (first.batches, first.sent, first.more) == (1, 2, True)
    first_two = recipients()
    campaigns.pause(campaign)

    campaigns.resume(campaign)

    assert len(mail.outbox) == 4
    assert recipients() == sorted(s.email for s in subs)  # nobody twice
    assert not set(first_two) & {a for m in mail.outbox[2:] for a in m.to}
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SENT
    assert campaign.sent_count == 4
    assert statuses(campaign) == ["sent"] * 4


def test_resume_without_enqueue_only_changes_the_state(subs):
    campaign = CampaignFactory()
    campaigns.start(campaign, enqueue=False)
    campaigns.pause(campaign)
    campaigns.resume(campaign, enqueue=False)
    assert campaign.status == CampaignStatus.SENDING
    assert mail.outbox == []


def test_cancel_marks_unsent_sends_cancelled(subs):
    campaign = CampaignFactory()
    campaigns.start(campaign, enqueue=False)
    with petmail(BATCH_SIZE=1):
        campaigns.deliver(campaign.pk, budget_seconds=0)
    campaigns.pause(campaign)
    last = EmailSend.objects.filter(campaign=campaign).order_by("pk").last()
    EmailSend.objects.filter(pk=last.pk).update(status=SendStatus.HELD)  # an A/B held send

    assert campaigns.cancel(campaign) == 3

    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.CANCELLED
    assert campaign.completed_at is not None
    assert statuses(campaign) == ["cancelled", "cancelled", "cancelled", "sent"]
    campaigns.maybe_complete(campaign)
    assert EmailCampaign.objects.get(pk=campaign.pk).status == CampaignStatus.CANCELLED
    with pytest.raises(InvalidTransition):
        campaigns.resume(campaign)
    assert len(mail.outbox) == 1


def test_cancel_a_draft_or_scheduled_campaign():
    draft = CampaignFactory()
    assert campaigns.cancel(draft) == 0
    assert draft.status == CampaignStatus.CANCELLED
    scheduled = CampaignFactory()
    campaigns.schedule(scheduled, timezone.now() + timedelta(hours=1))
    assert campaigns.cancel(scheduled) == 0
    assert scheduled.status == CampaignStatus.CANCELLED


def test_a_campaign_is_sent_only_when_nothing_is_pending_held_or_in_flight(subs):
    campaign = CampaignFactory()
    campaigns.start(campaign, enqueue=False)
    sends = list(EmailSend.objects.filter(campaign=campaign).order_by("pk"))
    EmailSend.objects.filter(pk=sends[0].pk).update(status=SendStatus.SENT)
    EmailSend.objects.filter(pk=sends[1].pk).update(status=SendStatus.FAILED)
    EmailSend.objects.filter(pk=sends[2].pk).update(status=SendStatus.BOUNCED)

    for open_state in (SendStatus.PENDING, SendStatus.SENDING, SendStatus.HELD):
        EmailSend.objects.filter(pk=sends[3].pk).update(status=open_state)
        assert campaigns.maybe_complete(campaign) is False
        assert EmailCampaign.objects.get(pk=campaign.pk).status == CampaignStatus.SENDING

    EmailSend.objects.filter(pk=sends[3].pk).update(status=SendStatus.UNKNOWN)
    assert campaigns.maybe_complete(campaign) is True
    assert campaign.status == CampaignStatus.SENT
    assert campaigns.maybe_complete(campaign) is False  # once


def test_an_empty_audience_completes_at_once():
    campaign = CampaignFactory()
    assert campaigns.start(campaign) == 0
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SENT
    assert campaign.recipient_count == 0


# --- counters and progress --------------------------------------------------------------------


def test_counters_are_exact_after_mixed_outcomes(subs):
    campaign = CampaignFactory()
    campaigns.start(campaign, enqueue=False)
    sends = list(EmailSend.objects.filter(campaign=campaign).order_by("pk"))
    # one subscriber left after fan-out: skipped, not counted as sent or failed
    sends[3].subscription.status = "unsubscribed"
    sends[3].subscription.save()

    campaigns.deliver(campaign.pk)

    campaign.refresh_from_db()
    assert (campaign.sent_count, campaign.failed_count, campaign.bounce_count) == (3, 0, 0)
    assert statuses(campaign) == ["sent", "sent", "sent", "skipped"]
    assert campaign.status == CampaignStatus.SENT


def test_progress_numbers(subs):
    campaign = CampaignFactory()
    assert campaigns.progress(campaign) == {
        "status": "draft",
        "recipients": 0,
        "done": 0,
        "remaining": 0,
        "by_status": {},
        "percent": 0.0,
        "rate_per_second": 0.0,
        "eta": None,
    }
    campaigns.start(campaign, enqueue=False)
    started = campaigns.progress(campaign)
    assert started["status"] == "sending"
    assert (started["recipients"], started["done"], started["remaining"]) == (4, 0, 4)
    assert started["by_status"] == {"pending": 4}
    assert (started["percent"], started["rate_per_second"], started["eta"]) == (0.0, 0.0, None)

    with petmail(BATCH_SIZE=3):
        campaigns.deliver(campaign.pk, budget_seconds=0)
    halfway = campaigns.progress(campaign)
    assert (halfway["done"], halfway["remaining"], halfway["percent"]) == (3, 1, 75.0)
    assert halfway["by_status"] == {"sent": 3, "pending": 1}
    assert halfway["rate_per_second"] == 0.05  # 3 in the last minute
    assert halfway["eta"] > timezone.now().isoformat()

    campaigns.deliver(campaign.pk)
    campaign.refresh_from_db()
    done = campaigns.progress(campaign)
    assert (done["status"], done["done"], done["remaining"], done["percent"]) == ("sent", 4, 0, 100)
    assert done["eta"] is None


# --- preview and test sends -------------------------------------------------------------------


def test_preview_flags_unknown_tokens_and_renders_a_real_subscriber(subs):
    campaign = CampaignFactory(
        subject="{{ cupon }} para {{ first_name }}",
        html_content="<p>Hola {{ first_name }}, {{ descuento }}% para {{ pet_name }}</p>",
    )
    shown = campaigns.preview(campaign)
    assert shown["unknown_tokens"] == ["cupon", "descuento"]
    assert shown["subject"] == "para Ana"
    assert "Hola Ana, % para" in shown["html"]
    assert shown["text"].startswith("Hola Ana, % para")
    assert campaigns.unknown_tokens(campaign) == ["cupon", "descuento"]
    assert campaigns.unknown_tokens(campaign, known={"cupon"}) == ["descuento"]

    chosen = campaigns.preview(campaign, subscription=subs[2])
    assert "Hola Eva" in chosen["html"]


def test_preview_without_subscribers_uses_the_fallback_name():
    campaign = CampaignFactory(html_content="<p>Hola {{ first_name }}</p>")
    shown = campaigns.preview(campaign)
    assert "Hola Amigo" in shown["html"]
    assert shown["unknown_tokens"] == []


def test_preview_of_variant_b():
    campaign = CampaignFactory(is_ab_test=True, subject="Asunto A", ab_subject_b="Asunto B")
    assert campaigns.preview(campaign)["subject"] == "Asunto A"
    assert campaigns.preview(campaign, variant="B")["subject"] == "Asunto B"


def test_send_test_sends_the_rendered_campaign_without_recording_sends(subs):
    campaign = CampaignFactory(subject="Hola {{ first_name }}")

    assert campaigns.send_test(campaign, ["qa@example.com", "jefa@example.com"]) == 2

    # one message per tester: nobody sees the other testers' addresses
    assert [m.to for m in mail.outbox] == [["qa@example.com"], ["jefa@example.com"]]
    message = mail.outbox[0]
    assert message.subject == "[TEST] Hola Ana"
    assert "Hola Ana" in message.alternatives[0][0]
    assert message.from_email == settings.PETMAIL["FROM_EMAIL"]
    # the sample subscriber's personal links are not in a test send
    assert "/petmail/unsubscribe/" not in message.alternatives[0][0]
    assert "#petmail-test-send" in message.alternatives[0][0]
    assert not EmailSend.objects.exists()
    assert EmailCampaign.objects.get(pk=campaign.pk).status == CampaignStatus.DRAFT


@pytest.mark.parametrize(
    ("emails", "message"),
    [
        ([], "Give at least one address."),
        ([f"qa{i}@example.com" for i in range(21)], "At most 20 test addresses."),
        (["qa@example.com", "no es un email"], "'no es un email' is not a valid address."),
        (["qa@example.com\r\nBcc: x@example.com"], "is not a valid address."),
    ],
)
def test_send_test_validates_the_addresses(emails, message):
    campaign = CampaignFactory()
    with pytest.raises(ValidationError) as excinfo:
        campaigns.send_test(campaign, emails)
    assert list(excinfo.value.message_dict) == ["emails"]
    assert message in excinfo.value.message_dict["emails"][0]
    assert mail.outbox == []


def test_send_test_accepts_twenty_addresses_and_refuses_unready_content():
    campaign = CampaignFactory()
    assert campaigns.send_test(campaign, [f"qa{i}@example.com" for i in range(20)]) == 20
    broken = CampaignFactory(html_content="")
    with pytest.raises(ValidationError) as excinfo:
        campaigns.send_test(broken, ["qa@example.com"])
    assert "html_content" in excinfo.value.message_dict


# --- header injection -------------------------------------------------------------------------


def parsed(message):
    return email.message_from_bytes(message.message().as_bytes(), policy=email.policy.default)


def test_cr_lf_in_subject_or_names_never_injects_headers():
    sub = SubscriptionFactory(first_name="Ana\r\nBcc: spy@evil.example\r\nX-Evil: 1")
    campaign = CampaignFactory(
        subject="Hola\r\nCc: spy2@evil.example\n{{ first_name }}",
        html_content="<p>{{ first_name }}</p>",
    )
    campaigns.start(campaign)
    campaigns.send_test(campaign, ["qa@example.com"])

    assert len(mail.outbox) == 2
    for message in mail.outbox:
        assert "\n" not in message.subject and "\r" not in message.subject
        received = parsed(message)
        assert received["Bcc"] is None
        assert received["Cc"] is None
        assert received["X-Evil"] is None
        assert "Cc: spy2@evil.example" in str(received["Subject"])
        assert "Bcc: spy@evil.example" in str(received["Subject"])
        assert message.recipients() in ([sub.email], ["qa@example.com"])
    send = EmailSend.objects.get(campaign=campaign)
    assert send.status == SendStatus.SENT


def test_an_existing_send_for_another_campaign_does_not_stop_a_start(subs):
    other = CampaignFactory(status="sent")
    SendFactory(campaign=other, subscription=subs[0], status="failed")
    campaign = CampaignFactory()
    assert campaigns.start(campaign) == 4
