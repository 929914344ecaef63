"""The segment rule builder in headless Chromium: staff build a two-condition segment from the
field lists, see its live count and sample, see an error next to the condition it concerns,
save, and the stored rules are the group the builder wrote."""

import pytest

from django_petmail.models import CustomerSegment
from tests.browser import chromium_page
from tests.factories import SubscriptionFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def browser_page():
    with chromium_page(locale="en-US", viewport={"width": 1280, "height": 900}) as page:
        yield page


def login(page, live_server, admin_user):
    page.goto(f"{live_server.url}/admin/login/?next=/admin/")
    page.fill("#id_username", admin_user.username)
    page.fill("#id_password", "password")  # pytest-django's admin_user
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_server.url}/admin/")


def test_build_a_two_condition_segment(live_server, browser_page, admin_user):
    for i in range(3):
        SubscriptionFactory(frequency="weekly", language="es", email=f"es{i}@example.com")
    SubscriptionFactory(frequency="weekly", language="en", email="en@example.com")
    SubscriptionFactory(frequency="monthly", language="es", email="monthly@example.com")
    page = browser_page
    login(page, live_server, admin_user)

    page.goto(f"{live_server.url}/admin/django_petmail/customersegment/add/")
    builder = page.locator("[data-petmail-builder]")
    assert page.locator("#id_rules").is_hidden()  # the JSON box is behind "show JSON"
    preview = builder.locator(".petmail-preview")
    builder.locator('.petmail-preview[data-state="ok"]').wait_for()
    assert preview.get_attribute("data-count") == "5"  # no conditions: everyone

    page.fill("#id_name", "Semanales en español")
    page.fill("#id_slug", "semanales-es")

    builder.locator(".petmail-add-condition").first.click()
    first = builder.locator(".petmail-condition").nth(0)
    first.locator("select.petmail-field").select_option("frequency")
    first.locator("select.petmail-op").select_option("eq")
    first.locator("select.petmail-value").select_option("weekly")
    page.wait_for_function("document.querySelector('.petmail-preview').dataset.count === '4'")

    builder.locator(".petmail-add-condition").last.click()
    second = builder.locator(".petmail-condition").nth(1)
    second.locator("select.petmail-field").select_option("language")
    second.locator("select.petmail-op").select_option("eq")
    # a value the server refuses first: the error shows next to that condition
    second.locator("select.petmail-op").select_option("in")
    page.wait_for_function("document.querySelector('.petmail-preview').dataset.state === 'error'")
    assert "conditions[1].value" in second.locator(".petmail-errors").inner_text()
    assert first.locator(".petmail-errors").inner_text() == ""
    second.locator("select.petmail-op").select_option("eq")
    second.locator("input.petmail-value").fill("es")
    page.wait_for_function(
        "document.querySelector('.petmail-preview').dataset.count === '3'"
        " && document.querySelector('.petmail-preview').dataset.state === 'ok'"
    )
    assert second.locator(".petmail-errors").inner_text() == ""
    assert "Members now: 3" in preview.inner_text()
    assert "es0@example.com" in preview.inner_text()

    builder.locator(".petmail-toggle-json").click()
    assert page.locator("#id_rules").is_visible()

    page.click("input[name=_save]")
    page.wait_for_url(f"{live_server.url}/admin/django_petmail/customersegment/")
    segment = CustomerSegment.objects.get(name="Semanales en español")
    assert segment.rules == {
        "operator": "AND",
        "conditions": [
            {"field": "frequency", "op": "eq", "value": "weekly"},
            {"field": "language", "op": "eq", "value": "es"},
        ],
    }


def test_stored_rules_come_back_into_the_builder(live_server, browser_page, admin_user):
    segment = CustomerSegment.objects.create(
        name="Anidada",
        slug="anidada",
        rules={
            "operator": "AND",
            "conditions": [
                {"field": "frequency", "op": "in", "value": ["weekly", "monthly"]},
                {
                    "not": {
                        "operator": "OR",
                        "conditions": [{"field": "language", "op": "eq", "value": "en"}],
                    }
                },
            ],
        },
    )
    page = browser_page
    login(page, live_server, admin_user)
    page.goto(f"{live_server.url}/admin/django_petmail/customersegment/{segment.pk}/change/")
    builder = page.locator("[data-petmail-builder]")
    builder.locator('.petmail-preview[data-state="ok"]').wait_for()
    nested = builder.locator('.petmail-group[data-path="conditions[1]"]')
    assert nested.locator(".petmail-negate").is_checked()
    assert nested.locator("select.petmail-operator").input_value() == "OR"
    assert nested.locator("input.petmail-value").input_value() == "en"
    values = builder.locator('[data-path="conditions[0]"] select.petmail-value')
    assert values.evaluate("s => Array.from(s.selectedOptions).map(o => o.value)") == [
        "weekly",
        "monthly",
    ]
