"""The segment admin: rules validated in the form, a live preview, refresh and snapshot actions."""

import html
import json

import pytest
from django.contrib.messages import constants
from django.urls import reverse
from django.utils import translation

from django_petmail.models import CustomerSegment, NewsletterSubscription
from tests.factories import SegmentFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db

ADD = reverse("admin:django_petmail_customersegment_add")
CHANGELIST = reverse("admin:django_petmail_customersegment_changelist")

WEEKLY = {"operator": "AND", "conditions": [{"field": "frequency", "op": "eq", "value": "weekly"}]}
INVALID = {"operator": "AND", "conditions": [{"field": "gone", "op": "eq", "value": "x"}]}


def change_url(segment):
    return reverse("admin:django_petmail_customersegment_change", args=[segment.pk])


def form_data(rules, **extra):
    return {
        "name": "Perros",
        "slug": "perros",
        "description": "",
        "rules": json.dumps(rules),
        "is_dynamic": "on",
        "is_active": "on",
        **extra,
    }


def page_text(response):
    return html.unescape(response.content.decode())


def run_action(client, action, segments):
    """Run an admin action, confirmed (``post=yes``) where it asks for confirmation."""
    return client.post(
        CHANGELIST,
        {"action": action, "_selected_action": [s.pk for s in segments], "post": "yes"},
        follow=True,
    )


def messages_of(response):
    return [(m.level, str(m)) for m in response.context["messages"]]


@pytest.fixture
def english(settings):
    """Rule validation messages are translatable; some tests assert their English msgids
    (requests get LANGUAGE_CODE from LocaleMiddleware, the test itself the override)."""
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


@pytest.fixture
def weekly_subs():
    subs = [SubscriptionFactory(frequency="weekly", email=f"w{i}@example.com") for i in range(3)]
    SubscriptionFactory(frequency="monthly", email="monthly@example.com")
    return subs


def invalid_segment(**kwargs):
    segment = SegmentFactory(rules=WEEKLY, **kwargs)
    CustomerSegment.objects.filter(pk=segment.pk).update(rules=INVALID)
    segment.refresh_from_db()
    return segment


# --- the form ---------------------------------------------------------------------------------


def test_add_page_renders(admin_client):
    response = admin_client.get(ADD)
    assert response.status_code == 200
    assert "rules" in response.context["adminform"].form.fields


@pytest.mark.usefixtures("english")
def test_add_with_invalid_rules_shows_the_errors_and_saves_nothing(admin_client):
    rules = {
        "operator": "AND",
        "conditions": [
            {"field": "status", "op": "eq", "value": "active"},
            {"field": "last_visit_date", "op": "contains", "value": "2024"},
            {"field": "pets__species", "op": "eq", "value": "dragon"},
        ],
    }
    response = admin_client.post(ADD, form_data(rules))
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors["rules"]
    assert len(errors) == 2
    assert errors[0].startswith(
        "conditions[1].op: 'contains' is not allowed for field 'last_visit_date' (date)"
    )
    assert errors[1] == "conditions[2].value: 'dragon' is not one of dog, cat, rabbit, bird, other"
    text = page_text(response)
    assert "conditions[1].op: 'contains' is not allowed for field 'last_visit_date'" in text
    assert "conditions[2].value: 'dragon' is not one of" in text
    assert not CustomerSegment.objects.exists()


@pytest.mark.parametrize(
    ("rules", "fragment"),
    [
        (["x"], "rules: must be an object"),
        ({"operator": "AND", "conditions": []}, "conditions: a group needs at least one condition"),
        (
            {"operator": "AND", "conditions": [{"field": "x", "op": "eq", "value": 1}]},
            "conditions[0].field: unknown field 'x'",
        ),
        (
            {
                "operator": "AND",
                "conditions": [{"field": "orders_count", "op": "gt", "value": "1"}],
            },
            "conditions[0].value: expected a number",
        ),
    ],
)
@pytest.mark.usefixtures("english")
def test_add_with_other_bad_rules(admin_client, rules, fragment):
    response = admin_client.post(ADD, form_data(rules))
    assert response.status_code == 200
    assert fragment in page_text(response)
    assert not CustomerSegment.objects.exists()


def test_add_with_text_that_is_not_json(admin_client):
    data = {**form_data({}), "rules": "{not json"}
    response = admin_client.post(ADD, data)
    assert response.status_code == 200
    assert "rules" in response.context["adminform"].form.errors
    assert not CustomerSegment.objects.exists()


@pytest.mark.parametrize("rules", [WEEKLY, {}, {"not": WEEKLY}])
def test_add_with_valid_rules_saves(admin_client, rules):
    response = admin_client.post(ADD, form_data(rules))
    assert response.status_code == 302
    segment = CustomerSegment.objects.get()
    assert (segment.slug, segment.rules, segment.is_dynamic) == ("perros", rules, True)


@pytest.mark.parametrize("text", ["", "null"])
def test_add_with_an_empty_rules_box_saves_no_rules(admin_client, text):
    response = admin_client.post(ADD, {**form_data({}), "rules": text})
    assert response.status_code == 302
    assert CustomerSegment.objects.get().rules == {}


@pytest.mark.usefixtures("english")
def test_change_with_invalid_rules_keeps_the_old_ones(admin_client):
    segment = SegmentFactory(rules=WEEKLY, slug="semanal")
    response = admin_client.post(change_url(segment), form_data(INVALID, slug="semanal"))
    assert response.status_code == 200
    assert "conditions[0].field: unknown field 'gone'" in page_text(response)
    assert CustomerSegment.objects.get(pk=segment.pk).rules == WEEKLY


# --- preview on the change page ---------------------------------------------------------------


def test_change_page_shows_count_and_emails(admin_client, weekly_subs):
    segment = SegmentFactory(rules=WEEKLY)
    response = admin_client.get(change_url(segment))
    assert response.status_code == 200
    ordered = ", ".join(s.email for s in sorted(weekly_subs, key=lambda s: s.pk))
    text = page_text(response)
    assert f"3 — {ordered}" in text
    assert "monthly@example.com" not in text


def test_change_page_of_a_static_segment_previews_the_snapshot(admin_client, weekly_subs):
    segment = SegmentFactory(rules=WEEKLY)
    run_action(admin_client, "snapshot_selected", [segment])
    SubscriptionFactory(frequency="weekly", email="late@example.com")
    NewsletterSubscription.objects.filter(pk=weekly_subs[0].pk).update(status="unsubscribed")
    text = page_text(admin_client.get(change_url(segment)))
    assert f"2 — {weekly_subs[1].email}, {weekly_subs[2].email}" in text
    assert "late@example.com" not in text


@pytest.mark.usefixtures("english")
def test_change_page_of_an_invalid_segment_shows_the_problem(admin_client):
    segment = invalid_segment()
    response = admin_client.get(change_url(segment))
    assert response.status_code == 200
    assert "conditions[0].field: unknown field 'gone'" in page_text(response)


# --- actions ----------------------------------------------------------------------------------


def test_refresh_selected(admin_client, weekly_subs):
    weekly = SegmentFactory(rules=WEEKLY)
    everyone = SegmentFactory(rules={})
    untouched = SegmentFactory(rules=WEEKLY)
    response = run_action(admin_client, "refresh_selected", [weekly, everyone])
    assert response.status_code == 200
    assert messages_of(response) == [(constants.INFO, "Segmentos recalculados: 2.")]
    counts = dict(CustomerSegment.objects.values_list("pk", "member_count"))
    assert counts == {weekly.pk: 3, everyone.pk: 4, untouched.pk: 0}
    assert CustomerSegment.objects.get(pk=weekly.pk).last_calculated is not None


def test_refresh_selected_reports_invalid_segments(admin_client, weekly_subs):
    good = SegmentFactory(rules=WEEKLY)
    bad = invalid_segment()
    response = run_action(admin_client, "refresh_selected", [good, bad])
    assert response.status_code == 200
    assert messages_of(response) == [
        (constants.INFO, "Segmentos recalculados: 2."),
        (constants.WARNING, f"Reglas no válidas en los segmentos [{bad.pk}]."),
    ]
    assert CustomerSegment.objects.get(pk=good.pk).member_count == 3
    assert CustomerSegment.objects.get(pk=bad.pk).last_calculated is None


def test_snapshot_selected(admin_client, weekly_subs):
    segment = SegmentFactory(name="Semanal", rules=WEEKLY)
    response = run_action(admin_client, "snapshot_selected", [segment])
    assert response.status_code == 200
    [(level, text)] = messages_of(response)
    assert level == constants.SUCCESS and text.startswith("Semanal: 3 ")
    segment.refresh_from_db()
    assert (segment.is_dynamic, segment.member_count) == (False, 3)
    assert segment.snapshot_at is not None
    assert segment.memberships.count() == 3


@pytest.mark.usefixtures("english")
def test_snapshot_selected_reports_invalid_segments(admin_client, weekly_subs):
    good = SegmentFactory(name="A bien", rules=WEEKLY)
    bad = invalid_segment(name="B mal")
    response = run_action(admin_client, "snapshot_selected", [good, bad])
    assert response.status_code == 200
    found = messages_of(response)
    assert any(lv == constants.SUCCESS and t.startswith("A bien: 3 ") for lv, t in found)
    errors = [text for level, text in found if level == constants.ERROR]
    assert len(errors) == 1
    assert errors[0].startswith("B mal: conditions[0].field: unknown field 'gone'")
    bad.refresh_from_db()
    assert (bad.is_dynamic, bad.snapshot_at) == (True, None)
    assert not bad.memberships.exists()


def test_changelist_shows_counts(admin_client, weekly_subs):
    segment = SegmentFactory(name="Semanal", rules=WEEKLY)
    run_action(admin_client, "refresh_selected", [segment])
    response = admin_client.get(CHANGELIST)
    assert response.status_code == 200
    assert "Semanal" in page_text(response)
