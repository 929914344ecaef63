"""The report pages in headless Chromium: staff log in, open an A/B campaign's report (built
like the demo's, events through ``tracking.events.record``) and the overview; the SVG charts
are drawn (non-zero size) and the numbers in their labels are the report's numbers."""

import re

import pytest
from django.utils import timezone, translation

from django_petmail.analytics import campaign_report, overview
from django_petmail.models import ABVariant, CampaignStatus, SendStatus
from tests.analytics_data import LINK_A, LINK_B, event
from tests.browser import chromium_page
from tests.factories import CampaignFactory, SendFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def browser_page():
    with chromium_page(locale="en-US", viewport={"width": 1280, "height": 900}) as page:
        yield page


def demo_campaign():
    """An A/B subject test as the demo runs it, on a small scale: 20 test recipients, A
    opened by 6 of its 10, B by 2; a few clicks, a bounce; A chosen as the winner."""
    now = timezone.now()
    campaign = CampaignFactory(
        name="Otoño: paseos seguros",
        status=CampaignStatus.SENT,
        is_ab_test=True,
        ab_test_percent=20,
        recipient_count=20,
        started_at=now,
        ab_winner=ABVariant.A,
        ab_decided_at=now,
    )
    for variant, opens, clicks in ((ABVariant.A, 6, 3), (ABVariant.B, 2, 1)):
        for i in range(10):
            send = SendFactory(
                campaign=campaign,
                ab_variant=variant,
                status=SendStatus.SENT,
                sent_at=now,
                esp_message_id=f"demo-{variant}-{i}",
            )
            event(send, "delivered", now)
            if i < opens:
                event(send, "opened", now)
            if i < clicks:
                event(send, "clicked", now, click_url=LINK_A if i % 2 == 0 else LINK_B)
            if variant == ABVariant.B and i == 9:
                event(send, "bounced", now, bounce_type="Permanent")
    campaign.refresh_from_db()
    return campaign


def chart(page, kind):
    """The chart, drawn: SVG text has no ``innerText``, so labels are read as text content."""
    svg = page.locator(f'svg[data-chart="{kind}"]').first
    box = svg.bounding_box()
    assert box and box["width"] > 0 and box["height"] > 0, kind
    return svg


def label_values(svg, selector):
    return [
        int(v) for v in svg.locator(selector).evaluate_all("els => els.map(e => e.dataset.value)")
    ]


def test_report_pages_draw_the_report_numbers(live_server, browser_page, admin_user, tmp_path):
    campaign = demo_campaign()
    with translation.override("en"):
        report = campaign_report(campaign)
        found = overview(30)
    page = browser_page

    page.goto(f"{live_server.url}/admin/login/?next=/admin/")
    page.fill("#id_username", admin_user.username)
    page.fill("#id_password", "password")  # pytest-django's admin_user
    page.click("input[type=submit]")
    page.get_by_role("link", name="Overview of the last 30 days").wait_for()

    page.goto(f"{live_server.url}/admin/django_petmail/emailcampaign/{campaign.pk}/report/")
    assert "Otoño: paseos seguros" in page.locator("h1").inner_text()

    funnel = chart(page, "funnel")
    f = report.funnel
    expected = [f.recipients, f.sent, f.delivered, f.opened, f.clicked, f.converted]
    assert expected == [20, 20, 20, 8, 4, 0]
    assert label_values(funnel, "rect.petmail-bar") == expected
    texts = funnel.locator("text.petmail-value").all_text_contents()
    assert [int(re.match(r"[\d,]+", t).group().replace(",", "")) for t in texts] == expected

    timeline = chart(page, "timeline")
    assert timeline.locator("text.petmail-total").all_text_contents() == [
        f"Opens: {report.opens_total}",
        f"Clicks: {report.clicks_total}",
    ]

    ab = chart(page, "ab")
    assert report.ab is not None
    for variant in report.ab.variants:
        group = ab.locator(f'g[data-variant="{variant.variant}"]')
        assert (
            group.locator("text.petmail-open_rate").text_content() == f"{variant.open_rate:.1f} %"
        )
        assert (
            group.locator("text.petmail-click_rate").text_content() == f"{variant.click_rate:.1f} %"
        )
    assert ab.locator('g[data-winner="true"]').get_attribute("data-variant") == "A"
    assert page.locator("#petmail-ab").inner_text().startswith("Variant A wins: 60.0 % open rate")

    links = chart(page, "links")
    assert label_values(links, "rect.petmail-bar") == [link.clicks for link in report.top_links]
    assert links.locator("text.petmail-label").all_text_contents() == [
        link.url for link in report.top_links
    ]
    assert "20 of 20 done (100.0 %)." in page.locator("#petmail-progress").inner_text()

    shot = tmp_path / "campaign-report.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000

    page.get_by_role("link", name="Overview").first.click()
    daily = chart(page, "daily")
    assert daily.locator("text.petmail-total").all_text_contents() == [
        f"Sent: {sum(d.sent for d in found.daily)}",
        f"Opens: {sum(d.opens for d in found.daily)}",
        f"Clicks: {sum(d.clicks for d in found.daily)}",
    ]
    assert sum(label_values(daily, "g.petmail-series rect")) == found.sent == 20
    shot = tmp_path / "overview.png"
    page.screenshot(path=str(shot))
    assert shot.stat().st_size > 10_000
