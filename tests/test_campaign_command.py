"""``manage.py petmail_campaigns``: the operator's view of campaigns, and its bad input."""

from io import StringIO

import pytest
from django.conf import settings
from django.core import mail
from django.core.management import CommandError, call_command
from django.test import override_settings

from django_petmail import campaigns
from django_petmail.models import CampaignStatus, EmailCampaign, EmailSend, SendStatus
from tests.factories import CampaignFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db


def run(*args):
    out, err = StringIO(), StringIO()
    call_command("petmail_campaigns", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def petmail(**overrides):
    return override_settings(PETMAIL={**settings.PETMAIL, **overrides})


@pytest.fixture
def subs():
    return [SubscriptionFactory(email=f"c{i}@example.com") for i in range(5)]


def test_start_here_sends_batch_by_batch_with_progress(subs):
    campaign = CampaignFactory(name="Otoño")
    with petmail(BATCH_SIZE=2):
        out, _ = run("start", "Otoño", "--here")
    assert "Otoño: 5 recipients." in out
    progress = [line for line in out.splitlines() if "batch:" in line]
    assert [line.split()[0] for line in progress] == ["2/5", "4/5", "5/5"]
    assert "Otoño: sent, sent=5 failed=0 bounced=0" in out
    assert len(mail.outbox) == 5
    assert EmailCampaign.objects.get(pk=campaign.pk).status == CampaignStatus.SENT


def test_start_queues_the_workers_by_default(subs):
    campaign = CampaignFactory()
    out, _ = run("start", str(campaign.pk))
    assert "Queued the sending workers." in out
    assert len(mail.outbox) == 5  # the eager test workers ran


def test_send_finishes_a_campaign_whose_workers_are_gone(subs):
    campaign = CampaignFactory()
    campaigns.start(campaign, enqueue=False)
    out, _ = run("send", str(campaign.pk))
    assert len(mail.outbox) == 5
    assert f"{campaign.name}: sent, sent=5" in out


def test_pause_resume_cancel_and_show(subs):
    campaign = CampaignFactory(is_ab_test=True, ab_subject_b="Otra")
    campaigns.start(campaign, enqueue=False)
    assert "paused" in run("pause", str(campaign.pk))[0]
    with pytest.raises(CommandError, match="campaign: A campaign cannot go from 'paused'"):
        run("pause", str(campaign.pk))
    out, _ = run("show", str(campaign.pk))
    assert "paused" in out and "progress   0/5 (0.0 %)" in out
    assert "A/B        winner=undecided" in out
    cancelled = run("cancel", str(campaign.pk))[0]
    assert "cancelled" in cancelled
    assert not EmailSend.objects.filter(campaign=campaign, status=SendStatus.PENDING).exists()
    with pytest.raises(CommandError, match="campaign: A campaign cannot go from 'cancelled'"):
        run("resume", str(campaign.pk))


def test_resume_queues_the_rest(subs):
    campaign = CampaignFactory()
    campaigns.start(campaign, enqueue=False)
    campaigns.pause(campaign)
    assert "sending again" in run("resume", str(campaign.pk))[0]
    assert len(mail.outbox) == 5


def test_list_filters_by_status(subs):
    sent = CampaignFactory(name="enviada")
    run("start", str(sent.pk))
    CampaignFactory(name="borrador")
    everything = run("list")[0]
    assert "enviada" in everything and "borrador" in everything
    drafts = run("list", "--status", "draft")[0]
    assert "borrador" in drafts and "enviada" not in drafts
    assert "5/5" in run("list", "--status", "sent")[0]


def test_test_send_to_addresses():
    SubscriptionFactory()
    campaign = CampaignFactory()
    out, _ = run("test", str(campaign.pk), "--to", "ana@example.com, luis@example.com")
    assert "Sent 2 test messages." in out
    assert sorted(m.to[0] for m in mail.outbox) == ["ana@example.com", "luis@example.com"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["show", "no-such-campaign"], "campaign: no campaign 'no-such-campaign'"),
        (["show", "99999999"], "campaign: no campaign '99999999'"),
        (["show", "9" * 30], "campaign: no campaign"),
        (["send", "{draft}"], "campaign: 'draft' is draft, not sending"),
        (["test", "{draft}", "--to", "not-an-address"], "emails: 'not-an-address' is not a valid"),
        (["test", "{draft}", "--to", " , "], "emails: Give at least one address."),
        (["start", "{empty}"], "subject"),
    ],
)
def test_bad_input_names_the_argument_and_changes_nothing(args, message):
    CampaignFactory(name="draft")
    CampaignFactory(name="empty", subject="")
    refs = {"draft": "draft", "empty": "empty"}
    with pytest.raises(CommandError, match=message.replace("(", r"\(")):
        run(*[a.format(**refs) for a in args])
    assert set(EmailCampaign.objects.values_list("status", flat=True)) == {"draft"}
    assert not EmailSend.objects.exists()
    assert mail.outbox == []


def test_two_campaigns_with_one_name_need_the_id():
    CampaignFactory(name="gemela")
    CampaignFactory(name="gemela")
    with pytest.raises(CommandError, match="campaign: several campaigns are named 'gemela'"):
        run("show", "gemela")


def test_send_gives_up_on_sends_the_sender_gives_up_on(subs):
    from tests.test_dispatch import FAILURES

    campaign = CampaignFactory()
    campaigns.start(campaign, enqueue=False)
    FAILURES.update({s.email: TimeoutError("ESP timed out") for s in subs})
    try:
        with (
            petmail(MAX_RETRIES=1),
            override_settings(EMAIL_BACKEND="tests.test_dispatch.FlakyBackend"),
        ):
            out, err = run("send", str(campaign.pk))
    finally:
        FAILURES.clear()
    assert err == ""  # nothing left to retry: no wait
    assert EmailSend.objects.filter(campaign=campaign, status=SendStatus.FAILED).count() == 5
    assert "retry=5" in out
    assert f"{campaign.name}: sent, sent=0 failed=5" in out


def test_send_waits_and_retries_transient_failures(subs, monkeypatch):
    from django_petmail.management.commands import petmail_campaigns
    from tests.test_dispatch import FAILURES

    waits = []
    monkeypatch.setattr(petmail_campaigns.time, "sleep", waits.append)  # no real waiting
    campaign = CampaignFactory()
    campaigns.start(campaign, enqueue=False)
    FAILURES[subs[0].email] = [TimeoutError("ESP timed out"), TimeoutError("again")]
    try:
        with override_settings(EMAIL_BACKEND="tests.test_dispatch.FlakyBackend"):
            out, err = run("send", str(campaign.pk))
    finally:
        FAILURES.clear()
    assert waits == [1, 2]
    assert err.count("1 sends failed transiently; retrying.") == 2
    assert f"{campaign.name}: sent, sent=5 failed=0" in out


def test_a_configuration_error_pauses_and_is_reported(subs):
    from anymail.exceptions import AnymailConfigurationError

    from tests.test_dispatch import FAILURES

    campaign = CampaignFactory()
    campaigns.start(campaign, enqueue=False)
    FAILURES[subs[0].email] = AnymailConfigurationError("missing API key")
    try:
        with (
            override_settings(EMAIL_BACKEND="tests.test_dispatch.FlakyBackend"),
            pytest.raises(CommandError, match="campaign: paused on a configuration error"),
        ):
            run("send", str(campaign.pk))
    finally:
        FAILURES.clear()
    assert EmailCampaign.objects.get(pk=campaign.pk).status == CampaignStatus.PAUSED
