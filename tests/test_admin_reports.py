"""The admin's report pages: a campaign's, a sequence's and the overview, in Spanish and
English, with the hand-counted numbers of tests/analytics_data.py; progress and A/B results
in words; rates with their denominator; the overview's period and SES thresholds;
permissions, unknown ids and a bounded number of queries."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone, translation

from django_petmail.admin_reports import ab_words, progress_words
from django_petmail.analytics import ABSection, ABVariantResult, Progress
from django_petmail.models import ABVariant, CampaignStatus, EnrollmentStatus, SendStatus
from tests.analytics_data import LINK_A, build_campaign, build_sends, event
from tests.factories import (
    CampaignFactory,
    EnrollmentFactory,
    SendFactory,
    SequenceFactory,
    StepFactory,
)

pytestmark = pytest.mark.django_db

EN = {"accept-language": "en"}
ES = {"accept-language": "es"}


def report_url(campaign):
    return reverse("admin:django_petmail_emailcampaign_report", args=[campaign.pk])


def sequence_url(sequence):
    return reverse("admin:django_petmail_automatedsequence_report", args=[sequence.pk])


OVERVIEW = "admin:django_petmail_overview"


@pytest.fixture
def campaign():
    return build_campaign(name="Otoño <b>seguro</b>")


def get(client, url, headers=EN, **params):
    response = client.get(url, params, headers=headers)
    assert response.status_code == 200, response.status_code
    return response.content.decode()


# --- the campaign's page ----------------------------------------------------------------------


def test_campaign_report_in_english(admin_client, campaign):
    page = get(admin_client, report_url(campaign))
    assert "Report: Otoño &lt;b&gt;seguro&lt;/b&gt;" in page  # the name is escaped
    # rates say their denominator (deliveries were reported: 6 delivered)
    assert "66.7 % of delivered (6)" in page  # open rate: 4 of 6
    assert "50.0 % of delivered (6)" in page  # click rate: 3 of 6
    assert "75.0 % of sent (8)" in page  # delivery rate: 6 of 8
    assert "75.0 % of opened (4)" in page  # click-to-open: 3 of 4
    assert "4 unique, 4 in all" in page
    assert "2 (1 permanent, 1 refused at send time); 1 transient, not counted" in page
    assert "123.45" in page
    # the charts, drawn on the server
    for kind in ("funnel", "timeline", "links"):
        assert f'data-chart="{kind}"' in page
    assert 'data-value="9"' in page and "8 (88.9 %)" in page
    assert LINK_A in page and "3 clicks, 2 unique" in page
    assert "Opens: 4" in page and "Clicks: 4" in page
    assert "<script" not in page.split('id="content-main"')[1].split("</main>")[0]


def test_campaign_report_in_spanish(admin_client, campaign):
    page = get(admin_client, report_url(campaign), headers=ES)
    with translation.override("es"):
        expected = "66,7 %"
    assert expected in page
    assert '<html lang="es"' in page
    assert 'data-chart="funnel"' in page


def test_rates_over_sent_without_deliveries(admin_client):
    campaign = CampaignFactory(status=CampaignStatus.SENT, recipient_count=2)
    sends = [
        SendFactory(campaign=campaign, status=SendStatus.SENT, sent_at=timezone.now())
        for _ in range(2)
    ]
    event(sends[0], "opened", timezone.now())
    page = get(admin_client, report_url(campaign))
    assert "50.0 % of sent (2)" in page
    assert "of delivered" not in page


def test_progress_in_words_on_the_report_and_the_change_page(admin_client, campaign):
    page = get(admin_client, report_url(campaign))
    assert "9 of 9 done (100.0 %)." in page
    change = get(
        admin_client, reverse("admin:django_petmail_emailcampaign_change", args=[campaign.pk])
    )
    assert "9 of 9 done (100.0 %)." in change
    assert report_url(campaign) in change  # linked from the change page


def test_progress_words():
    now = timezone.now()
    progress = Progress(
        status="Sending",
        recipients=2000,
        done=1240,
        remaining=760,
        unknown=3,
        percent=62.0,
        rate_per_second=3.2,
        eta=now + timedelta(minutes=4, seconds=30),
    )
    with translation.override("en"):
        assert progress_words(progress, now=now) == (
            "1,240 of 2,000 done (62.0 %), 3 unknown (in doubt after a worker stopped), "
            "760 still to send, 3.2 a second, about 4\xa0minutes left."
        )
        empty = Progress("Draft", 0, 0, 0, 0, 0.0, 0.0, None)
        assert progress_words(empty) == "No recipients yet."


def ab(**overrides):
    fields = {
        "metric": "open_rate",
        "metric_label": "Open rate",
        "p_value": 0.018,
        "confidence": 0.95,
        "significant": True,
        "winner": "A",
        "decided_at": None,
        "variants": (
            ABVariantResult("A", "Variant A", 200, 48, 10, 24.1, 5.0),
            ABVariantResult("B", "Variant B", 200, 36, 12, 18.0, 6.0),
        ),
    }
    return ABSection(**{**fields, **overrides})


@pytest.mark.parametrize(
    ("section", "words"),
    [
        (ab(), "Variant A wins: 24.1 % open rate vs 18.0 %, p = 0.018 (significant)."),
        (
            ab(winner=None, significant=False, p_value=0.2),
            "Variant A is ahead: 24.1 % open rate vs 18.0 %, p = 0.200 (not significant); "
            "no winner chosen yet.",
        ),
        (
            ab(winner="B", significant=False, p_value=0.2),
            "Variant B wins: 18.0 % open rate vs 24.1 %, p = 0.200 (not significant).",
        ),
        (
            ab(metric="click_rate", metric_label="Click rate", winner=None, p_value=0.0001),
            "Variant B is ahead: 6.0 % click rate vs 5.0 %, p = < 0.001 (significant); "
            "no winner chosen yet.",
        ),
        (
            ab(
                winner=None,
                variants=(
                    ABVariantResult("A", "Variant A", 10, 2, 0, 20.0, 0.0),
                    ABVariantResult("B", "Variant B", 10, 2, 0, 20.0, 0.0),
                ),
                p_value=1.0,
            ),
            "The variants tie: 20.0 % open rate each, p = 1.000.",
        ),
        (
            ab(
                winner=None,
                variants=(
                    ABVariantResult("A", "Variant A", 0, 0, 0, 0.0, 0.0),
                    ABVariantResult("B", "Variant B", 0, 0, 0, 0.0, 0.0),
                ),
            ),
            "No results yet: no variant has been sent.",
        ),
    ],
    ids=["winner", "ahead", "default winner", "click metric", "tie", "nothing sent"],
)
def test_ab_words(section, words):
    with translation.override("en"):
        assert ab_words(section) == words


def test_ab_campaign_report_and_change_page_in_words(admin_client):
    campaign = CampaignFactory(
        status=CampaignStatus.SENDING, is_ab_test=True, ab_test_percent=20, recipient_count=20
    )
    now = timezone.now()
    for variant, opened in ((ABVariant.A, 6), (ABVariant.B, 1)):
        for i in range(10):
            SendFactory(
                campaign=campaign,
                ab_variant=variant,
                status=SendStatus.OPENED if i < opened else SendStatus.SENT,
                sent_at=now,
                opened_at=now if i < opened else None,
            )
    campaign.ab_winner = ABVariant.A
    campaign.ab_result = {"winner": "A", "p_value": 0.02, "variants": {"A": {}, "B": {}}}
    campaign.save()
    page = get(admin_client, report_url(campaign))
    assert "Variant A wins: 60.0 % open rate vs 10.0 %, p = 0.0" in page
    assert 'data-chart="ab"' in page and 'data-winner="true"' in page
    change = get(
        admin_client, reverse("admin:django_petmail_emailcampaign_change", args=[campaign.pk])
    )
    assert "Variant A wins: 60.0 % open rate vs 10.0 %" in change
    assert "&#x27;variants&#x27;" not in change and "'variants'" not in change  # no raw dict


def test_the_change_page_of_a_campaign_without_ab(admin_client, campaign):
    change = get(
        admin_client, reverse("admin:django_petmail_emailcampaign_change", args=[campaign.pk])
    )
    assert "Not an A/B test." in change


def test_the_campaign_list_links_each_report_and_the_overview(admin_client, campaign):
    page = get(admin_client, reverse("admin:django_petmail_emailcampaign_changelist"))
    assert report_url(campaign) in page
    assert reverse(OVERVIEW) in page


def test_a_campaign_report_before_any_send(admin_client):
    campaign = CampaignFactory()
    page = get(admin_client, report_url(campaign))
    assert "No recipients yet." in page
    assert "Nothing sent yet" in page and "No clicks yet" in page


# --- the sequence's page ----------------------------------------------------------------------


def test_sequence_report(admin_client):
    sequence = SequenceFactory(name="Bienvenida")
    first = StepFactory(sequence=sequence, step_number=1)
    StepFactory(sequence=sequence, step_number=2)
    build_sends({"campaign": None, "sequence_step": first})
    for status in (EnrollmentStatus.ACTIVE, EnrollmentStatus.ACTIVE, EnrollmentStatus.CONVERTED):
        EnrollmentFactory(sequence=sequence, status=status)
    page = get(admin_client, sequence_url(sequence))
    assert "Report: Bienvenida" in page
    assert "Enrollments by status" in page
    assert page.count('data-chart="funnel"') == 3  # all steps, then each step
    assert "66.7 % of delivered (6)" in page
    assert "0.0 % of sent (0)" in page  # the second step has sent nothing
    enrollments = page.split("Enrollments by status")[1].split("</table>")[0]
    assert '<th scope="row">Active</th><td>2</td>' in enrollments
    assert '<th scope="row">Converted</th><td>1</td>' in enrollments
    assert '<th scope="row">Total</th><td>3</td>' in enrollments
    change = get(
        admin_client, reverse("admin:django_petmail_automatedsequence_change", args=[sequence.pk])
    )
    assert sequence_url(sequence) in change
    listing = get(admin_client, reverse("admin:django_petmail_automatedsequence_changelist"))
    assert sequence_url(sequence) in listing


def test_sequence_report_in_spanish(admin_client):
    sequence = SequenceFactory()
    page = get(admin_client, sequence_url(sequence), headers=ES)
    assert '<html lang="es"' in page
    assert 'data-chart="funnel"' in page  # the totals of no steps: zeros, no error


# --- the overview -----------------------------------------------------------------------------


def test_overview_of_the_last_30_days(admin_client):
    campaign = CampaignFactory(name="Vacunas")
    now = timezone.now()
    sends = [
        SendFactory(campaign=campaign, status=SendStatus.SENT, sent_at=now - timedelta(hours=2))
        for _ in range(4)
    ]
    event(sends[0], "opened", now - timedelta(hours=1))
    page = get(admin_client, reverse(OVERVIEW))
    assert "the last 30 days" in page
    assert 'data-chart="daily"' in page and "Sent: 4" in page
    assert "Below the threshold" in page and 'role="alert"' not in page
    assert "0.0 % of attempted sends" in page
    assert report_url(campaign) in page and "25.0 % of sent" in page


def test_overview_warns_over_the_ses_thresholds(admin_client):
    now = timezone.now()
    campaign = CampaignFactory()
    sends = [
        SendFactory(campaign=campaign, status=SendStatus.SENT, sent_at=now - timedelta(hours=3))
        for _ in range(10)
    ]
    event(sends[0], "bounced", now - timedelta(hours=2), bounce_type="Permanent")
    event(sends[1], "complained", now - timedelta(hours=2))
    page = get(admin_client, reverse(OVERVIEW))
    assert page.count('role="alert"') == 2
    assert "10.0 % of attempted sends" in page and "threshold 5.0 %" in page
    assert "10.00 % of sent" in page and "threshold 0.1 %" in page
    assert page.count('data-alert="true"') == 2


@override_settings(PETMAIL={"REPUTATION_BOUNCE_RATE": 50.0})
def test_overview_thresholds_come_from_the_settings(admin_client):
    page = get(admin_client, reverse(OVERVIEW))
    assert "threshold 50.0 %" in page


def test_overview_period(admin_client):
    page = get(admin_client, reverse(OVERVIEW), days="7")
    assert "the last 7 days" in page
    page = get(admin_client, reverse(OVERVIEW), headers=ES, days="7")
    assert '<html lang="es"' in page and 'data-chart="daily"' in page


@pytest.mark.parametrize("days", ["0", "366", "-3", "abc", "1e9", "9" * 40])
def test_a_bad_period_is_a_form_error_never_a_500(admin_client, days):
    page = get(admin_client, reverse(OVERVIEW), days=days)
    assert 'class="errorlist' in page
    assert "the last 30 days" in page  # the default period is shown meanwhile


def test_the_admin_index_links_to_the_overview(admin_client):
    page = get(admin_client, reverse("admin:index"))
    assert reverse(OVERVIEW) in page and "Email reports" in page


# --- permissions ------------------------------------------------------------------------------


@pytest.fixture
def pages(campaign):
    sequence = SequenceFactory()
    return [report_url(campaign), sequence_url(sequence), reverse(OVERVIEW)]


def test_anonymous_users_are_sent_to_the_login(client, pages):
    for url in pages:
        response = client.get(url)
        assert response.status_code == 302 and "/login/" in response["Location"]


def test_staff_without_view_permission_get_403(client, django_user_model, pages):
    user = django_user_model.objects.create_user(username="clerk", password="x", is_staff=True)
    client.force_login(user)
    for url in pages:
        assert client.get(url).status_code == 403
    index = client.get(reverse("admin:index")).content.decode()
    assert reverse(OVERVIEW) not in index


def test_staff_with_view_permission_see_the_pages(client, django_user_model, pages):
    user = django_user_model.objects.create_user(username="viewer", password="x", is_staff=True)
    user.user_permissions.add(
        Permission.objects.get(codename="view_emailcampaign"),
        Permission.objects.get(codename="view_automatedsequence"),
    )
    client.force_login(user)
    for url in pages:
        assert client.get(url, headers=EN).status_code == 200


def test_unknown_ids_are_404(admin_client):
    for url in (
        "/admin/django_petmail/emailcampaign/999999/report/",
        "/admin/django_petmail/emailcampaign/abc/report/",
        "/admin/django_petmail/automatedsequence/999999/report/",
    ):
        assert admin_client.get(url).status_code == 404


# --- bounded queries --------------------------------------------------------------------------


@pytest.mark.parametrize("sends", [10, 100])
def test_a_campaign_report_page_does_a_constant_number_of_queries(
    admin_client, django_assert_max_num_queries, sends
):
    campaign = CampaignFactory(status=CampaignStatus.SENT, recipient_count=sends)
    now = timezone.now()
    for i in range(sends):
        send = SendFactory(campaign=campaign, status=SendStatus.SENT, sent_at=now)
        if i % 3 == 0:
            event(send, "clicked", now, click_url=f"https://huellas.example/{i % 12}")
    admin_client.get(report_url(campaign))  # the session and permissions, cached after
    # session, user, the campaign, then the report (7 queries without an A/B test)
    with django_assert_max_num_queries(10):
        assert admin_client.get(report_url(campaign)).status_code == 200
