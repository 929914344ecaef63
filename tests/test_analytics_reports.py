"""Reports checked against hand-counted fixtures (see tests/analytics_data.py): the funnel,
rates and their denominators, bounces by kind, A/B, top links, the hourly timeline,
sequences, subscriber histories, the account overview, and queries that do not grow with
the number of sends."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.test import override_settings
from django.utils import timezone, translation

from django_petmail.analytics import (
    campaign_report,
    overview,
    sequence_report,
    step_report,
    subscriber_history,
)
from django_petmail.models import (
    ABVariant,
    CampaignStatus,
    EmailCampaign,
    EmailEvent,
    EmailSend,
    EnrollmentStatus,
    EventType,
    SendStatus,
    SequenceStep,
)
from django_petmail.sending import ab
from tests.analytics_data import LINK_A, LINK_B, T0, build_campaign, build_sends, event
from tests.factories import (
    CampaignFactory,
    EnrollmentFactory,
    SendFactory,
    SequenceFactory,
    StepFactory,
    SubscriptionFactory,
)

pytestmark = pytest.mark.django_db
NOW = T0 + timedelta(hours=5)


@pytest.fixture
def campaign():
    return build_campaign()


def test_the_funnel_counts_each_stage_once_per_send(campaign):
    report = campaign_report(campaign, now=NOW)
    assert report.kind == "campaign" and report.id == campaign.pk and report.name == campaign.name
    f = report.funnel
    assert (f.recipients, f.sent, f.delivered, f.opened, f.clicked, f.converted) == (
        9,
        8,
        6,
        4,
        3,
        2,
    )
    assert (report.opens_unique, report.clicks_unique) == (4, 3)
    assert (report.opens_total, report.clicks_total) == (4, 4)
    assert report.machine_opens == 0
    assert (report.complaints, report.unsubscribes, report.failed) == (1, 1, 0)
    assert report.revenue == Decimal("123.45") and report.conversions == 2


def test_bounces_by_kind(campaign):
    bounces = campaign_report(campaign, now=NOW).bounces
    assert (bounces.permanent, bounces.rejected, bounces.transient, bounces.total) == (1, 1, 1, 2)
    assert bounces.total == EmailCampaign.objects.get(pk=campaign.pk).bounce_count


def test_rates_divide_by_delivered_when_deliveries_were_reported(campaign):
    rates = campaign_report(campaign, now=NOW).rates
    assert (rates.denominator, rates.base) == ("delivered", 6)
    assert rates.delivery == 75.0  # 6 / 8
    assert rates.open == 66.67  # 4 / 6
    assert rates.click == 50.0  # 3 / 6
    assert rates.click_to_open == 75.0  # 3 / 4
    assert rates.bounce == 22.22  # 2 / 9 attempted (8 sent + 1 refused)
    assert rates.complaint == 16.67 and rates.unsubscribe == 16.67  # 1 / 6
    assert rates.conversion == 33.33  # 2 / 6


def test_rates_divide_by_sent_without_delivery_events():
    campaign = CampaignFactory(status=CampaignStatus.SENT, sent_count=4)
    sends = [
        SendFactory(campaign=campaign, status=SendStatus.SENT, sent_at=T0, esp_message_id=f"m{i}")
        for i in range(4)
    ]
    event(sends[0], "opened", T0 + timedelta(minutes=1))
    rates = campaign_report(campaign, now=NOW).rates
    assert (rates.denominator, rates.base, rates.open, rates.delivery) == ("sent", 4, 25.0, 0.0)
    campaign.refresh_from_db()
    assert campaign.open_rate == 25.0 and campaign.click_rate == 0.0


def test_a_report_of_nothing_divides_by_nothing():
    report = campaign_report(CampaignFactory(), now=NOW)
    assert report.funnel.recipients == 0 and report.timeline == () and report.top_links == ()
    assert report.rates.base == 0 and report.rates.open == 0.0 and report.rates.bounce == 0.0
    assert report.progress.percent == 0.0 and report.progress.eta is None
    assert CampaignFactory().open_rate == 0.0


def test_top_links_by_clicks_and_unique_clickers(campaign):
    links = campaign_report(campaign, now=NOW).top_links
    assert [(link.url, link.clicks, link.unique_clickers) for link in links] == [
        (LINK_A, 3, 2),
        (LINK_B, 1, 1),
    ]


def test_top_links_keep_ten():
    campaign = CampaignFactory()
    send = SendFactory(campaign=campaign, status=SendStatus.SENT, sent_at=T0, esp_message_id="m")
    for i in range(12):
        for _ in range(i + 1):
            event(send, "clicked", T0, click_url=f"https://huellas.example/{i:02d}")
    links = campaign_report(campaign, now=NOW).top_links
    assert len(links) == 10
    assert links[0].url.endswith("/11") and links[0].clicks == 12
    assert links[-1].url.endswith("/02") and links[-1].unique_clickers == 1


def test_the_timeline_counts_by_hour_from_the_first_send(campaign):
    timeline = campaign_report(campaign, now=NOW).timeline
    assert [(p.hour, p.sent, p.opens, p.clicks) for p in timeline] == [
        (0, 6, 1, 1),
        (1, 2, 2, 0),
        (2, 0, 1, 2),
        (3, 0, 0, 1),
        (4, 0, 0, 0),
        (5, 0, 0, 0),
    ]
    assert timeline[0].at == datetime(2025, 3, 3, 10, tzinfo=UTC)


def test_the_timeline_stops_at_72_hours(campaign):
    late = EmailSend.objects.filter(campaign=campaign, status=SendStatus.SENT).first()
    event(late, "opened", T0 + timedelta(hours=100))
    timeline = campaign_report(campaign, now=T0 + timedelta(days=30)).timeline
    assert len(timeline) == 72 and timeline[-1].hour == 71
    assert sum(p.opens for p in timeline) == 4  # the open after 72 hours is left out


def test_progress_in_words_and_numbers(campaign):
    with translation.override("en"):
        progress = campaign_report(campaign, now=NOW).progress
    assert progress.status == "Sent"
    assert (progress.recipients, progress.done, progress.remaining, progress.unknown) == (
        9,
        9,
        0,
        0,
    )
    assert progress.percent == 100.0 and progress.eta is None


def test_a_report_is_json_ready(campaign):
    data = campaign_report(campaign, now=NOW).as_dict()
    assert json.loads(json.dumps(data)) == data
    assert data["revenue"] == "123.45"
    assert data["timeline"][0]["at"] == "2025-03-03T10:00:00+00:00"
    assert data["ab"] is None and data["rates"]["denominator"] == "delivered"


def _ab_campaign(**fields):
    campaign = CampaignFactory(
        status=CampaignStatus.SENDING,
        is_ab_test=True,
        ab_subject_b="Otra",
        recipient_count=41,
        **fields,
    )
    for variant, opened in ((ABVariant.A, 6), (ABVariant.B, 1)):
        for i in range(20):
            SendFactory(
                campaign=campaign,
                ab_variant=variant,
                status=SendStatus.OPENED if i < opened else SendStatus.SENT,
                sent_at=T0,
                opened_at=T0 if i < opened else None,
            )
    SendFactory(campaign=campaign, status=SendStatus.HELD)
    return campaign


def test_the_ab_section_reports_each_variant_and_the_test():
    campaign = _ab_campaign()
    section = campaign_report(campaign, now=NOW).ab
    decision = ab.decide(campaign)
    assert section is not None
    assert [(v.variant, v.sent, v.opened, v.open_rate) for v in section.variants] == [
        ("A", 20, 6, 30.0),
        ("B", 20, 1, 5.0),
    ]
    assert section.p_value == decision["p_value"] and 0 < section.p_value < 0.05
    assert section.significant is True and section.metric == "open_rate"
    assert section.winner is None and section.decided_at is None
    campaign.ab_winner = ABVariant.A
    campaign.ab_decided_at = NOW
    section = campaign_report(campaign, now=NOW).ab
    assert section.winner == "A" and section.decided_at == NOW
    assert campaign_report(campaign, now=NOW).funnel.recipients == 40  # the held one is not


def _step_with_sends():
    step = StepFactory(step_number=1, subject="Bienvenida")
    build_sends({"campaign": None, "sequence_step": step})
    SequenceStep.objects.filter(pk=step.pk).update(conversion_count=1)
    step.refresh_from_db()
    return step


def test_a_step_report_has_the_same_numbers_as_a_campaign():
    step = _step_with_sends()
    report = step_report(step, now=NOW)
    assert report.kind == "step" and report.ab is None
    assert (report.funnel.sent, report.funnel.opened, report.opens_total) == (8, 4, 4)
    assert report.rates.open == 66.67 and report.bounces.total == 2
    assert report.funnel.converted == 1
    assert step.open_count == 4  # tracking moved the step's counters
    assert (report.progress.recipients, report.progress.remaining) == (9, 0)


def test_a_step_report_says_when_its_sequence_is_stopped():
    step = StepFactory(sequence=SequenceFactory(is_active=False))
    with translation.override("en"):
        assert step_report(step).status == "Sequence stopped"
        step.sequence.is_active = True
        step.is_active = False
        assert step_report(step).status == "Step off"


def test_a_sequence_report_counts_enrollments_steps_and_totals():
    step = _step_with_sends()
    sequence = step.sequence
    second = StepFactory(sequence=sequence, step_number=2)
    SendFactory(
        campaign=None, sequence_step=second, status=SendStatus.PENDING, email_address="x@e.com"
    )
    for status in (
        EnrollmentStatus.ACTIVE,
        EnrollmentStatus.ACTIVE,
        EnrollmentStatus.COMPLETED,
        EnrollmentStatus.CONVERTED,
    ):
        EnrollmentFactory(sequence=sequence, status=status)
    report = sequence_report(sequence, now=NOW)
    e = report.enrollments
    assert (e.active, e.paused, e.completed, e.converted, e.cancelled, e.total) == (
        2,
        0,
        1,
        1,
        0,
        4,
    )
    assert [s.id for s in report.steps] == [step.pk, second.pk]
    assert report.totals.kind == "sequence"
    assert report.totals.funnel.recipients == 10 and report.totals.funnel.sent == 8
    assert report.totals.conversions == 1
    assert report.totals.progress.remaining == 1
    assert json.loads(json.dumps(report.as_dict()))["steps"][1]["funnel"]["recipients"] == 1


def test_subscriber_history_newest_first_with_events(django_assert_num_queries):
    subscription = SubscriptionFactory()
    first = SendFactory(
        subscription=subscription,
        status=SendStatus.SENT,
        sent_at=T0,
        esp_message_id="h1",
        campaign=CampaignFactory(name="Primavera"),
    )
    step = StepFactory(step_number=1)
    second = SendFactory(
        subscription=subscription, campaign=None, sequence_step=step, status=SendStatus.PENDING
    )
    event(first, "delivered", T0 + timedelta(minutes=1))
    event(first, "clicked", T0 + timedelta(minutes=2), click_url=LINK_A)
    with django_assert_num_queries(2), translation.override("en"):
        history = subscriber_history(subscription)
    assert [entry.send_id for entry in history.sends] == [second.pk, first.pk]
    newest, oldest = history.sends
    assert (newest.kind, newest.mailing_id, newest.status_label) == ("step", step.pk, "Pending")
    assert (oldest.kind, oldest.mailing_name) == ("campaign", "Primavera")
    assert [(e.type, e.link_url) for e in oldest.events] == [
        ("delivery", ""),
        ("click", LINK_A),
    ]
    assert oldest.clicked_at is not None and not history.truncated
    assert subscriber_history(subscription, limit=1).truncated
    assert json.loads(json.dumps(history.as_dict()))["sends"][1]["events"][1]["label"] == "Clicked"


@pytest.mark.parametrize("limit", [0, 1001, "5", True])
def test_subscriber_history_refuses_a_bad_limit(limit):
    with pytest.raises(ValueError, match="limit"):
        subscriber_history(SubscriptionFactory(), limit=limit)


def test_the_overview_counts_the_period(campaign):
    old = SendFactory(campaign=campaign, status=SendStatus.SENT, sent_at=NOW - timedelta(days=40))
    EmailEvent.objects.create(
        send=old, event_type=EventType.COMPLAINT, occurred_at=NOW - timedelta(days=40)
    )
    result = overview(days=30, now=NOW)
    assert (result.sent, result.delivered, result.opens, result.clicks) == (8, 6, 4, 3)
    assert (result.bounces, result.complaints, result.unsubscribes) == (2, 1, 1)
    assert result.revenue == Decimal("123.45") and result.conversions == 2
    assert result.bounce_rate == 22.22  # 2 / 9 attempted
    assert result.complaint_rate == 12.5  # 1 / 8 sent
    assert result.bounce_alert and result.complaint_alert
    assert (result.bounce_threshold, result.complaint_threshold) == (5.0, 0.1)
    assert len(result.daily) == 31
    assert result.daily[-1].day == timezone.localtime(NOW).date()
    assert sum(day.sent for day in result.daily) == 8
    assert sum(day.opens for day in result.daily) == 4
    assert sum(day.clicks for day in result.daily) == 4
    assert sum(day.bounces for day in result.daily) == 1  # the ESP's; the refusal has no event
    assert sum(day.complaints for day in result.daily) == 1
    assert [(c.id, c.sent, c.opened, c.clicked) for c in result.top_campaigns] == [
        (campaign.pk, 8, 4, 3)
    ]
    assert result.top_campaigns[0].open_rate == 50.0
    data = result.as_dict()
    assert json.loads(json.dumps(data)) == data and data["revenue"] == "123.45"


def test_the_overview_flags_rates_at_the_thresholds():
    campaign = CampaignFactory(status=CampaignStatus.SENT)
    EmailSend.objects.bulk_create(
        EmailSend(
            campaign=campaign,
            email_address=f"bulk{i}@example.com",
            status=SendStatus.SENT,
            sent_at=T0,
        )
        for i in range(1000)
    )
    send = EmailSend.objects.filter(campaign=campaign).first()
    EmailEvent.objects.create(send=send, event_type=EventType.COMPLAINT, occurred_at=T0)
    result = overview(days=1, now=NOW)
    assert result.complaint_rate == 0.1 and result.complaint_alert  # at the threshold
    assert result.bounce_rate == 0.0 and not result.bounce_alert
    with override_settings(PETMAIL={"REPUTATION_COMPLAINT_RATE": 0.2}):
        assert not overview(days=1, now=NOW).complaint_alert


def test_an_empty_overview_raises_no_alert():
    result = overview(now=NOW)
    assert result.sent == 0 and result.bounce_rate == 0.0 and not result.bounce_alert
    assert result.top_campaigns == () and result.revenue == Decimal("0.00")


@pytest.mark.parametrize("days", [0, 366, "30", 2.5, None, True])
def test_the_overview_refuses_a_bad_period(days):
    with pytest.raises(ValueError, match="days"):
        overview(days=days)


def _many_sends(campaign, n):
    EmailSend.objects.bulk_create(
        EmailSend(
            campaign=campaign,
            email_address=f"q{campaign.pk}-{i}@example.com",
            ab_variant=ABVariant.A if i % 2 else ABVariant.B,
            status=SendStatus.CLICKED,
            sent_at=T0 + timedelta(minutes=i),
            delivered_at=T0,
            opened_at=T0,
            clicked_at=T0,
        )
        for i in range(n)
    )
    EmailEvent.objects.bulk_create(
        EmailEvent(send=send, event_type=kind, link_url=f"https://x.example/{send.pk % 13}")
        for send in EmailSend.objects.filter(campaign=campaign)
        for kind in (EventType.OPEN, EventType.CLICK)
    )


#: Queries of one campaign report: progress (2), sends, events, links, timeline (2), and for
#: A/B campaigns the variants and the test's decision.
REPORT_QUERIES = 9


@pytest.mark.parametrize("n", [10, 200])
def test_report_queries_do_not_grow_with_sends(n, django_assert_max_num_queries):
    campaign = CampaignFactory(status=CampaignStatus.SENT, is_ab_test=True)
    _many_sends(campaign, n)
    with django_assert_max_num_queries(REPORT_QUERIES):
        report = campaign_report(campaign, now=NOW)
    assert report.funnel.clicked == n and report.clicks_total == n
    step = StepFactory()
    with django_assert_max_num_queries(REPORT_QUERIES - 4):
        step_report(step, now=NOW)
    with django_assert_max_num_queries(9):
        result = overview(now=T0 + timedelta(days=1))
    assert result.sent == n
