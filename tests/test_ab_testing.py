"""A/B tests: a deterministic cohort split evenly, the rest held; a two-proportion z-test
picks the winner (or the configured default); the winner goes to everyone else once."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.core import mail
from django.core.exceptions import ValidationError
from django.test import override_settings
from django.utils import timezone

from django_petmail import campaigns
from django_petmail.exceptions import InvalidTransition
from django_petmail.models import CampaignStatus, EmailCampaign, EmailSend
from django_petmail.sending.ab import (
    VariantResult,
    assign_cohort,
    decide,
    release_winner,
    results,
    two_proportion_p_value,
)
from django_petmail.sending.fanout import fan_out
from django_petmail.tasks import pick_ab_winners
from tests.factories import CampaignFactory, SendFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db


def petmail(**overrides):
    return override_settings(PETMAIL={**settings.PETMAIL, **overrides})


def ab_campaign(**kwargs):
    kwargs.setdefault("subject", "Asunto A para {{ first_name }}")
    kwargs.setdefault("ab_subject_b", "Asunto B para {{ first_name }}")
    return CampaignFactory(is_ab_test=True, **kwargs)


def subscribers(n):
    return SubscriptionFactory.create_batch(n)


def by_variant(campaign, statuses=None):
    """variant → set of subscription ids."""
    sends = EmailSend.objects.filter(campaign=campaign)
    if statuses:
        sends = sends.filter(status__in=statuses)
    found = {}
    for variant, sub in sends.values_list("ab_variant", "subscription"):
        found.setdefault(variant, set()).add(sub)
    return found


def count(campaign, **filters):
    return EmailSend.objects.filter(campaign=campaign, **filters).count()


def subjects():
    return sorted(m.subject.split(" para ")[0] for m in mail.outbox)


# --- the cohort -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("total", "percent", "size_a", "size_b"),
    [
        (50, 20, 5, 5),  # round(10)
        (40, 25, 5, 5),  # round(10)
        (9, 30, 2, 1),  # round(2.7) = 3
        (11, 40, 2, 2),  # round(4.4) = 4
        (13, 50, 3, 3),  # round(6.5) = 6: half to even
        (7, 100, 4, 3),
    ],
)
def test_cohort_size_is_the_percentage_split_evenly(total, percent, size_a, size_b):
    subscribers(total)
    campaign = ab_campaign(ab_test_percent=percent)
    campaigns.start(campaign, enqueue=False)

    cohort = round(total * percent / 100)
    assert size_a + size_b == cohort
    assert count(campaign, ab_variant="A", status="pending") == size_a
    assert count(campaign, ab_variant="B", status="pending") == size_b
    assert abs(size_a - size_b) <= 1
    assert count(campaign, ab_variant="", status="held") == total - cohort
    assert EmailCampaign.objects.get(pk=campaign.pk).recipient_count == total


@pytest.mark.parametrize(("total", "size_a", "size_b"), [(10, 1, 1), (1, 1, 0)])
def test_a_tiny_cohort_still_tries_both_variants(total, size_a, size_b):
    subscribers(total)
    campaign = ab_campaign(ab_test_percent=1)
    campaigns.start(campaign, enqueue=False)
    assert count(campaign, ab_variant="A") == size_a
    assert count(campaign, ab_variant="B") == size_b


def test_the_cohort_is_deterministic():
    subscribers(40)
    campaign = ab_campaign(ab_test_percent=30)
    campaigns.start(campaign, enqueue=False)
    first = by_variant(campaign)

    # the same campaign on a copy of the data: new send rows, same subscriptions
    EmailSend.objects.filter(campaign=campaign).delete()
    fan_out(campaign)
    assert assign_cohort(campaign) == (6, 6)

    assert by_variant(campaign) == first
    assert len(first["A"]) == len(first["B"]) == 6
    assert not first["A"] & first["B"]


def test_campaigns_draw_different_cohorts_from_the_same_audience():
    subscribers(60)
    cohorts = []
    for _ in range(4):
        campaign = ab_campaign(ab_test_percent=20)
        fan_out(campaign)
        assign_cohort(campaign)
        found = by_variant(campaign)
        cohorts.append(frozenset(found["A"] | found["B"]))
    assert len(set(cohorts)) == 4
    overlaps = [len(a & b) for i, a in enumerate(cohorts) for b in cohorts[i + 1 :]]
    assert max(overlaps) < 12  # not the same subscribers every time


def test_the_rest_is_held_until_a_winner():
    subscribers(20)
    campaign = ab_campaign(ab_test_percent=20)
    campaigns.start(campaign)

    assert subjects() == ["Asunto A", "Asunto A", "Asunto B", "Asunto B"]
    assert count(campaign, status="held") == 16
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SENDING  # held sends are still to go
    assert campaign.sent_count == 4
    assert campaigns.maybe_complete(campaign) is False


# --- statistics -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ((100, 50), (100, 30), 0.003892),
        ((100, 45), (100, 55), 0.157299),
        ((40, 20), (40, 4), 0.0000948),
        ((40, 10), (40, 8), 0.592318),
        ((200, 30), (200, 45), 0.054664),
    ],
)
def test_two_proportion_p_value_known_values(a, b, expected):
    first, second = VariantResult(*a), VariantResult(*b)
    assert two_proportion_p_value(first, second) == pytest.approx(expected, rel=1e-3)
    assert two_proportion_p_value(second, first) == two_proportion_p_value(first, second)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ((100, 30), (100, 30)),
        ((50, 10), (200, 40)),
        ((0, 0), (100, 30)),
        ((100, 30), (0, 0)),
        ((0, 0), (0, 0)),
        ((100, 0), (100, 0)),
        ((100, 100), (100, 100)),
    ],
)
def test_equal_rates_or_nothing_sent_is_no_evidence(a, b):
    assert two_proportion_p_value(VariantResult(*a), VariantResult(*b)) == 1.0


def test_variant_rates():
    assert VariantResult(40, 10).rate == 0.25
    assert VariantResult(0, 0).rate == 0.0


def cohort(campaign, variant, sent, successes, column="opened_at", failed=0):
    """``sent`` delivered sends of ``variant`` of which ``successes`` opened (or clicked)."""
    now = timezone.now()
    sends = [
        SendFactory(campaign=campaign, ab_variant=variant, status="sent", sent_at=now)
        for _ in range(sent)
    ]
    for _ in range(failed):
        SendFactory(campaign=campaign, ab_variant=variant, status="failed")
    status = "clicked" if column == "clicked_at" else "opened"
    EmailSend.objects.filter(pk__in=[s.pk for s in sends[:successes]]).update(
        status=status, **{column: now}
    )


@pytest.fixture
def sending_ab():
    return ab_campaign(status="sending", started_at=timezone.now())


@pytest.mark.parametrize(("better", "worse"), [("A", "B"), ("B", "A")])
@pytest.mark.parametrize("default", ["A", "B"])
def test_decide_picks_the_significantly_better_variant(better, worse, default, sending_ab):
    cohort(sending_ab, better, 40, 20)
    cohort(sending_ab, worse, 40, 4)
    with petmail(AB_DEFAULT_WINNER=default):
        outcome = decide(sending_ab)
    assert outcome["winner"] == better
    assert outcome["significant"] is True
    assert outcome["p_value"] == pytest.approx(0.0000948, rel=1e-2)
    assert outcome["confidence"] == 0.95
    assert outcome["metric"] == "open_rate"
    assert outcome["variants"][better] == {"sent": 40, "successes": 20, "rate": 0.5}
    assert outcome["variants"][worse] == {"sent": 40, "successes": 4, "rate": 0.1}


@pytest.mark.parametrize("default", ["A", "B"])
@pytest.mark.parametrize(
    ("a", "b"),
    [((40, 8), (40, 10)), ((40, 10), (40, 8)), ((40, 10), (40, 10)), ((0, 0), (0, 0))],
    ids=["b-slightly-better", "a-slightly-better", "tie", "no-data"],
)
def test_an_insignificant_difference_or_a_tie_goes_to_the_default(a, b, default, sending_ab):
    cohort(sending_ab, "A", *a)
    cohort(sending_ab, "B", *b)
    with petmail(AB_DEFAULT_WINNER=default):
        outcome = decide(sending_ab)
    assert outcome["winner"] == default
    assert outcome["significant"] is False
    assert outcome["p_value"] > 0.05


def test_a_lower_confidence_accepts_weaker_evidence(sending_ab):
    cohort(sending_ab, "A", 40, 12)
    cohort(sending_ab, "B", 40, 6)  # p ≈ 0.108
    assert decide(sending_ab)["winner"] == "A"  # default, not significant at 95 %
    with petmail(AB_DEFAULT_WINNER="B"):
        assert decide(sending_ab)["winner"] == "B"
    with petmail(AB_CONFIDENCE=0.85, AB_DEFAULT_WINNER="B"):
        outcome = decide(sending_ab)
    assert (outcome["winner"], outcome["significant"], outcome["confidence"]) == ("A", True, 0.85)


def test_click_rate_metric_counts_clicks_not_opens():
    campaign = ab_campaign(status="sending", ab_winner_metric="click_rate")
    cohort(campaign, "A", 40, 30)  # many opens …
    cohort(campaign, "B", 40, 2)
    EmailSend.objects.filter(campaign=campaign, ab_variant="A").update(clicked_at=None)
    b_sends = EmailSend.objects.filter(campaign=campaign, ab_variant="B").order_by("pk")
    EmailSend.objects.filter(pk__in=[s.pk for s in b_sends[:20]]).update(
        status="clicked", clicked_at=timezone.now()
    )
    outcome = decide(campaign)
    assert outcome["metric"] == "click_rate"
    assert outcome["variants"]["A"]["successes"] == 0
    assert outcome["variants"]["B"]["successes"] == 20
    assert outcome["winner"] == "B"


def test_results_ignore_sends_that_never_left_and_unassigned_ones(sending_ab):
    cohort(sending_ab, "A", 10, 5, failed=3)
    cohort(sending_ab, "B", 10, 2)
    SendFactory(campaign=sending_ab, ab_variant="A", status="pending")
    SendFactory(campaign=sending_ab, ab_variant="B", status="sending")
    SendFactory(campaign=sending_ab, ab_variant="", status="held")
    SendFactory(campaign=sending_ab, ab_variant="A", status="bounced")
    # an open reported for a send whose status moved on still counts as delivered
    late = SendFactory(campaign=sending_ab, ab_variant="B", status="complained")
    EmailSend.objects.filter(pk=late.pk).update(opened_at=timezone.now())
    assert results(sending_ab) == {"A": VariantResult(10, 5), "B": VariantResult(11, 3)}


# --- releasing the winner ---------------------------------------------------------------------


def test_release_winner_releases_the_held_sends_once():
    subscribers(20)
    campaign = ab_campaign(ab_test_percent=20)
    campaigns.start(campaign, enqueue=False)
    outcome = {"winner": "B", "p_value": 0.5}

    assert release_winner(campaign, "B", outcome) == 16
    assert release_winner(campaign, "A", outcome) == 0

    campaign.refresh_from_db()
    assert campaign.ab_winner == "B"
    assert campaign.ab_decided_at is not None
    assert campaign.ab_result == outcome
    assert count(campaign, status="held") == 0
    assert count(campaign, status="pending", ab_variant="B") == 16 + 2
    assert count(campaign, ab_variant="A") == 2


def test_pick_ab_winners_waits_for_the_window_and_the_cohort():
    subscribers(20)
    campaign = ab_campaign(ab_test_percent=20, ab_wait_hours=4)
    campaigns.start(campaign, enqueue=False)

    EmailCampaign.objects.filter(pk=campaign.pk).update(
        started_at=timezone.now() - timedelta(hours=5)
    )
    assert pick_ab_winners() == {}  # the cohort has not been sent yet
    assert count(campaign, status="held") == 16

    EmailCampaign.objects.filter(pk=campaign.pk).update(started_at=timezone.now())
    campaigns.enqueue_sending(campaign)  # the cohort goes out
    assert subjects() == ["Asunto A", "Asunto A", "Asunto B", "Asunto B"]
    assert pick_ab_winners() == {}  # the window is still open
    assert count(campaign, status="held") == 16

    EmailCampaign.objects.filter(pk=campaign.pk).update(
        started_at=timezone.now() - timedelta(hours=4, minutes=1)
    )
    b_sends = EmailSend.objects.filter(campaign=campaign, ab_variant="B")
    b_sends.update(status="opened", opened_at=timezone.now())
    with petmail(AB_CONFIDENCE=0.5):  # two opens of two against none of two
        assert pick_ab_winners() == {campaign.pk: "B"}
    assert pick_ab_winners() == {}

    campaign.refresh_from_db()
    assert campaign.ab_winner == "B"
    assert campaign.ab_result["winner"] == "B"
    assert campaign.ab_result["variants"]["B"]["successes"] == 2
    assert campaign.status == CampaignStatus.SENT
    assert subjects() == ["Asunto A"] * 2 + ["Asunto B"] * 18  # the winner's subject
    assert count(campaign, status="held") == 0
    assert len({a for m in mail.outbox for a in m.to}) == 20


def test_winner_content_b_is_what_the_rest_receive():
    subscribers(10)
    campaign = ab_campaign(
        ab_subject_b="", ab_html_content_b="<p>Contenido B</p>", ab_test_percent=20
    )
    campaigns.start(campaign)
    campaigns.set_winner(campaign, "B")

    bodies = [m.alternatives[0][0] for m in mail.outbox]
    assert sum("Contenido B" in body for body in bodies) == 9
    assert sum("Hola" in body for body in bodies) == 1
    assert {m.subject.split(" para ")[0] for m in mail.outbox} == {"Asunto A"}


def test_winner_a_is_what_the_rest_receive():
    subscribers(10)
    campaign = ab_campaign(ab_test_percent=20)
    campaigns.start(campaign)
    assert campaigns.set_winner(campaign, "A") == 8
    assert subjects() == ["Asunto A"] * 9 + ["Asunto B"]
    assert EmailCampaign.objects.get(pk=campaign.pk).status == CampaignStatus.SENT


# --- manual override --------------------------------------------------------------------------


def test_set_winner_by_hand_records_the_numbers_and_releases_the_rest():
    subscribers(10)
    campaign = ab_campaign(ab_test_percent=20)
    campaigns.start(campaign)
    assert campaigns.set_winner(campaign, "B") == 8

    campaign.refresh_from_db()
    assert campaign.ab_winner == "B"
    assert campaign.ab_result["manual"] is True
    assert campaign.ab_result["winner"] == "B"
    assert set(campaign.ab_result["variants"]) == {"A", "B"}
    assert campaign.status == CampaignStatus.SENT
    assert subjects() == ["Asunto A"] + ["Asunto B"] * 9


def test_set_winner_on_a_paused_campaign_releases_without_sending():
    subscribers(10)
    campaign = ab_campaign(ab_test_percent=20)
    campaigns.start(campaign)
    campaigns.pause(campaign)
    assert campaigns.set_winner(campaign, "A") == 8
    assert len(mail.outbox) == 2
    assert count(campaign, status="pending", ab_variant="A") == 8
    campaigns.resume(campaign)
    assert len(mail.outbox) == 10


@pytest.mark.parametrize(
    "make",
    [
        lambda: CampaignFactory(status="sending"),
        lambda: ab_campaign(status="sending", ab_winner="A"),
        lambda: ab_campaign(status="draft"),
        lambda: ab_campaign(status="sent"),
        lambda: ab_campaign(status="cancelled"),
    ],
    ids=["not-ab", "already-decided", "draft", "sent", "cancelled"],
)
def test_set_winner_refuses_when_there_is_nothing_to_decide(make):
    campaign = make()
    before = campaign.ab_winner
    with pytest.raises(InvalidTransition):
        campaigns.set_winner(campaign, "B")
    assert EmailCampaign.objects.get(pk=campaign.pk).ab_winner == before


@pytest.mark.parametrize("letter", ["C", "", "a", None])
def test_set_winner_refuses_an_invalid_letter(letter):
    campaign = ab_campaign(status="sending")
    with pytest.raises(ValidationError) as excinfo:
        campaigns.set_winner(campaign, letter)
    assert list(excinfo.value.message_dict) == ["winner"]
    assert EmailCampaign.objects.get(pk=campaign.pk).ab_winner == ""


def test_cancel_an_ab_test_cancels_the_held_sends():
    subscribers(10)
    campaign = ab_campaign(ab_test_percent=20)
    campaigns.start(campaign)
    campaigns.pause(campaign)
    assert campaigns.cancel(campaign) == 8
    assert count(campaign, status="cancelled") == 8
    assert count(campaign, status="sent") == 2
    assert pick_ab_winners() == {}
