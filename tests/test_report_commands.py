"""``petmail_report`` prints words, numbers and tables (or JSON), never a raw dict; bad input
is a CommandError naming the argument. ``petmail_reconcile`` prints each drift, or says
there is none."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone, translation

from django_petmail.models import BounceType, EmailCampaign, SendStatus
from tests.analytics_data import LINK_A, build_campaign, build_sends
from tests.factories import EnrollmentFactory, SendFactory, StepFactory
from tests.test_analytics_reports import _ab_campaign

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = StringIO()
    with translation.override("en"):
        call_command(*args, stdout=out)
    return out.getvalue()


def test_a_campaign_report_in_words_and_tables():
    campaign = build_campaign()
    out = run("petmail_report", "campaign", str(campaign.pk))
    assert f"Campaign {campaign.pk}: {campaign.name}" in out
    assert "Status: Sent" in out
    assert "Progress: 9 of 9 done (100.0 %)" in out
    assert "Funnel (rates over delivered: 6)" in out
    assert "opened          4          66.67 %" in out
    assert "22.22 % of attempted" in out
    assert LINK_A in out and "revenue                    123.45" in out
    assert "{" not in out  # no raw dict


def test_an_ab_campaign_reports_its_test():
    campaign = _ab_campaign()
    out = run("petmail_report", "campaign", str(campaign.pk))
    assert "A/B test on Open rate: p-value 0.0375 (significant at 95 %)" in out
    assert "winner: not decided yet" in out
    assert "Variant A    20       6" in out


def test_json_output():
    campaign = build_campaign()
    data = json.loads(run("petmail_report", "campaign", str(campaign.pk), "--json"))
    assert data["funnel"]["sent"] == 8 and data["revenue"] == "123.45"


def test_a_sequence_report_lists_enrollments_and_steps():
    step = StepFactory(step_number=1)
    build_sends({"campaign": None, "sequence_step": step})
    EnrollmentFactory(sequence=step.sequence)
    out = run("petmail_report", "sequence", str(step.sequence_id))
    assert f"Sequence {step.sequence_id}: {step.sequence.name}" in out
    assert re.search(r"active\s+1\n", out) and re.search(r"total\s+1\n", out)
    assert str(step) in out and "All steps" in out
    assert "Funnel (rates over delivered: 6)" in out
    out = run("petmail_report", "step", str(step.pk))
    assert f"Step {step.pk}: {step}" in out


def test_the_overview_with_its_thresholds():
    out = run("petmail_report", "overview", "--days", "7")
    assert "The last 7 days" in out
    assert "Bounce rate: 0.00 % (under the threshold 5.00 %)" in out
    assert "Complaint rate: 0.00 % (under the threshold 0.10 %)" in out
    data = json.loads(run("petmail_report", "overview", "--json"))
    assert data["days"] == 30


def test_the_overview_flags_a_rate_over_its_threshold():
    now = timezone.now()
    campaign = build_campaign()
    SendFactory(campaign=campaign, status=SendStatus.SENT, sent_at=now - timedelta(hours=1))
    SendFactory(
        campaign=campaign,
        status=SendStatus.BOUNCED,
        bounced_at=now - timedelta(hours=1),
        bounce_type=BounceType.REJECTED,
    )
    out = run("petmail_report", "overview", "--days", "1")
    assert "Bounce rate: 50.00 % (AT OR OVER the review threshold 5.00 %)" in out
    assert "Top campaigns of the period" in out and "Days with activity" in out


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["campaign", "999999"], "campaign:"),
        (["campaign", "abc"], "campaign:"),
        (["campaign", "9" * 30], "campaign:"),
        (["sequence", "-1"], "sequence:"),
        (["step", "0"], "step:"),
        (["overview", "--days", "0"], "--days:"),
        (["overview", "--days", "366"], "--days:"),
        (["overview", "--days", "x"], "--days:"),
    ],
)
def test_bad_input_names_the_argument(args, named):
    with pytest.raises(CommandError, match=named):
        run("petmail_report", *args)


def test_reconcile_says_when_there_is_no_drift():
    build_campaign()
    assert "no drift" in run("petmail_reconcile")


def test_reconcile_prints_each_drift_and_applies_the_fix():
    campaign = build_campaign()
    EmailCampaign.objects.filter(pk=campaign.pk).update(click_count=7, delivered_count=1)
    out = run("petmail_reconcile")
    assert f"campaign {campaign.pk} ({campaign.name}): click_count stored 7, ledger 3" in out
    assert "delivered_count stored 1, ledger 6" in out
    assert "2 counters drifted; run with --apply" in out
    assert EmailCampaign.objects.get(pk=campaign.pk).click_count == 7
    assert "Repaired 2 counters." in run("petmail_reconcile", "--apply")
    assert "no drift" in run("petmail_reconcile")
