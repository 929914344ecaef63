"""The segment rule builder's server side: the page carries the field catalogue, the preview
view counts the rules being edited (staff only, bad input a 400 naming the problem), a single
condition is wrapped into a group, rule errors are translatable and keep their JSON paths, the
`status` field offers only values that can match, and freezing members asks first."""

import html
import json
import re

import pytest
from django.contrib.auth.models import Permission
from django.contrib.messages import constants
from django.urls import reverse
from django.utils import translation

from django_petmail.exceptions import RuleValidationError
from django_petmail.models import CustomerSegment
from django_petmail.segments import rules as rules_module
from django_petmail.segments import values as values_module
from django_petmail.segments.fields import field_catalogue
from django_petmail.segments.rules import validate_rules, wrap_single_condition
from tests.factories import SegmentFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db

ADD = reverse("admin:django_petmail_customersegment_add")
CHANGELIST = reverse("admin:django_petmail_customersegment_changelist")
PREVIEW = reverse("admin:django_petmail_customersegment_rules_preview")

WEEKLY_CONDITION = {"field": "frequency", "op": "eq", "value": "weekly"}
WEEKLY = {"operator": "AND", "conditions": [WEEKLY_CONDITION]}
INVALID = {"operator": "AND", "conditions": [{"field": "gone", "op": "eq", "value": "x"}]}


@pytest.fixture
def weekly_subs():
    subs = [SubscriptionFactory(frequency="weekly", email=f"w{i}@example.com") for i in range(3)]
    SubscriptionFactory(frequency="monthly", email="monthly@example.com")
    return subs


def post_preview(client, body):
    data = body if isinstance(body, str | bytes) else json.dumps(body)
    return client.post(PREVIEW, data, content_type="application/json")


def form_data(rules, **extra):
    return {
        "name": "Perros",
        "slug": "perros",
        "description": "",
        "rules": rules if isinstance(rules, str) else json.dumps(rules),
        "is_dynamic": "on",
        "is_active": "on",
        **extra,
    }


def textarea_data(response, name):
    """A ``data-…`` attribute of the rules textarea, parsed as JSON."""
    page = response.content.decode()
    tag = re.search(r"<textarea[^>]*data-petmail-rule-builder[^>]*>", page).group()
    return json.loads(html.unescape(re.search(rf'data-{name}="([^"]*)"', tag).group(1)))


# --- the page ---------------------------------------------------------------------------------


def test_add_page_loads_the_builder_with_the_field_catalogue(admin_client):
    response = admin_client.get(ADD)
    assert response.status_code == 200
    page = response.content.decode()
    assert "django_petmail/segment_builder.js" in page
    assert "django_petmail/segment_builder.css" in page
    assert textarea_data(response, "fields") == field_catalogue()
    assert textarea_data(response, "errors") == []
    assert textarea_data(response, "messages")["add_condition"]
    tag = re.search(r"<textarea[^>]*data-petmail-rule-builder[^>]*>", page).group()
    assert f'data-preview-url="{PREVIEW}"' in tag


def test_catalogue_describes_operators_and_relative_dates():
    with translation.override("en"):
        fields = {row["name"]: row for row in field_catalogue()}
    subscribed = fields["subscribed_at"]
    assert subscribed["type"] == "datetime"
    assert "-90d" in subscribed["value_help"]
    assert subscribed["op_labels"]["gte"] == "is at least"
    assert fields["email_engagement"]["op_labels"]["opened_in_last"].startswith("opened")
    assert fields["frequency"]["choices"][0] == ["weekly", "Weekly"]


def test_api_field_catalogue_is_the_same_serialization(api):
    response = api.get("/petmail/api/segments/fields/")
    assert response.status_code == 200
    assert response.json() == json.loads(json.dumps(field_catalogue()))


def test_form_errors_reach_the_builder_with_their_paths(admin_client):
    response = admin_client.post(ADD, form_data(INVALID))
    assert response.status_code == 200
    errors = textarea_data(response, "errors")
    assert [e["path"] for e in errors] == ["conditions[0].field"]
    assert "campo desconocido 'gone'" in errors[0]["message"]  # the admin speaks Spanish
    assert not CustomerSegment.objects.exists()


def test_form_with_text_that_is_not_json_gives_the_builder_no_paths(admin_client):
    response = admin_client.post(ADD, form_data("{nope"))
    assert response.status_code == 200
    assert textarea_data(response, "errors") == []


# --- a single condition -----------------------------------------------------------------------


def test_form_wraps_a_single_condition_into_a_group(admin_client):
    response = admin_client.post(ADD, form_data(WEEKLY_CONDITION))
    assert response.status_code == 302
    assert CustomerSegment.objects.get().rules == WEEKLY


def test_form_reports_a_bad_single_condition_at_its_wrapped_path(admin_client):
    bad = {"field": "frequency", "op": "eq", "value": "daily"}
    response = admin_client.post(ADD, form_data(bad))
    assert response.status_code == 200
    assert [e["path"] for e in textarea_data(response, "errors")] == ["conditions[0].value"]


def test_wrap_single_condition_leaves_groups_alone():
    assert wrap_single_condition(WEEKLY_CONDITION) == WEEKLY
    for rules in (WEEKLY, {}, None, {"not": WEEKLY}, ["x"], {"field": "x", "conditions": []}):
        assert wrap_single_condition(rules) == rules


# --- the preview view -------------------------------------------------------------------------


def test_preview_counts_and_samples_the_posted_rules(admin_client, weekly_subs):
    response = post_preview(admin_client, {"rules": WEEKLY})
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 3
    assert [row["email"] for row in body["sample"]] == [s.email for s in weekly_subs]


def test_preview_wraps_a_single_condition(admin_client, weekly_subs):
    response = post_preview(admin_client, {"rules": WEEKLY_CONDITION})
    assert response.json()["count"] == 3


def test_preview_of_no_rules_is_everyone(admin_client, weekly_subs):
    assert post_preview(admin_client, {"rules": {}}).json()["count"] == 4


def test_preview_of_invalid_rules_is_a_400_with_paths(admin_client):
    response = post_preview(admin_client, {"rules": INVALID})
    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert error["path"] == "conditions[0].field"
    assert "campo desconocido 'gone'" in error["message"]


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ("{not json", "no es JSON"),  # the admin speaks Spanish
        (b"\xff\xfe", "no es JSON"),
        ("", '{"rules"'),
        ("[1, 2]", '{"rules"'),
        ('{"rule": {}}', '{"rules"'),
        ('{"rules": [1]}', "debe ser un objeto"),
        ('{"rules": "frequency = weekly"}', "debe ser un objeto"),
        ("[" * 100_000 + "]" * 100_000, "no es JSON"),
        ('{"rules": ' + "[" * 100_000 + "]" * 100_000 + "}", "no es JSON"),
    ],
)
def test_preview_bad_input_is_a_400_naming_the_problem(admin_client, body, fragment):
    with translation.override("en"):
        response = post_preview(admin_client, body)
    assert response.status_code == 400
    messages = " ".join(e["message"] for e in response.json()["errors"])
    assert fragment in messages


def test_preview_only_answers_post(admin_client):
    assert admin_client.get(PREVIEW).status_code == 405


def test_preview_is_refused_to_anonymous_and_non_staff(client, django_user_model):
    response = post_preview(client, {"rules": WEEKLY})
    assert response.status_code == 302 and "/login/" in response["Location"]
    user = django_user_model.objects.create_user("clinic", password="x", is_staff=False)
    client.force_login(user)
    response = post_preview(client, {"rules": WEEKLY})
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_preview_needs_the_view_permission(client, django_user_model, weekly_subs):
    user = django_user_model.objects.create_user("marketer", password="x", is_staff=True)
    client.force_login(user)
    assert post_preview(client, {"rules": WEEKLY}).status_code == 403
    user.user_permissions.add(Permission.objects.get(codename="view_customersegment"))
    client.force_login(django_user_model.objects.get(pk=user.pk))
    assert post_preview(client, {"rules": WEEKLY}).json()["count"] == 3


# --- translatable messages --------------------------------------------------------------------


def test_rule_errors_read_in_english_under_english():
    with translation.override("en"), pytest.raises(RuleValidationError) as info:
        validate_rules({"operator": "XOR", "conditions": []})
    assert info.value.errors == [
        ("operator", "must be 'AND' or 'OR', got 'XOR'"),
        ("conditions", "a group needs at least one condition"),
    ]


@pytest.mark.parametrize(
    ("rules", "module"),
    [
        ({"operator": "XOR", "conditions": [WEEKLY_CONDITION]}, rules_module),
        ({"field": "frequency", "op": "eq", "value": 3}, rules_module),
        ({"field": "subscribed_at", "op": "gte", "value": "ayer"}, values_module),
        ({"field": "email_engagement", "op": "opened_in_last", "value": "x"}, values_module),
    ],
)
def test_rule_errors_go_through_gettext(monkeypatch, rules, module):
    """Every message passes through the catalogue: a stand-in gettext marks each one."""
    monkeypatch.setattr(module, "_", lambda message: f"«{message}»")
    with pytest.raises(RuleValidationError) as info:
        validate_rules(rules)
    assert all(message.startswith("«") for _, message in info.value.errors)


def test_rule_errors_in_the_admin_are_in_the_admin_language(admin_client, monkeypatch):
    monkeypatch.setattr(rules_module, "_", lambda message: f"«{message}»")
    response = post_preview(admin_client, {"rules": {"operator": "AND", "conditions": []}})
    assert response.json()["errors"][0]["message"] == "«a group needs at least one condition»"


# --- the status field -------------------------------------------------------------------------


def test_status_offers_only_the_value_that_can_match():
    with translation.override("en"):
        status = {row["name"]: row for row in field_catalogue()}["status"]
    assert [value for value, _ in status["choices"]] == ["active"]
    assert "Only active subscribers" in status["help_text"]


@pytest.mark.parametrize("value", ["pending", "unsubscribed", "bounced", "complained"])
def test_status_values_that_never_match_are_refused(value):
    with translation.override("en"), pytest.raises(RuleValidationError) as info:
        validate_rules({"field": "status", "op": "eq", "value": value})
    assert info.value.errors == [("conditions[0].value", f"'{value}' is not one of active")]


# --- freezing members asks first --------------------------------------------------------------


def freeze(client, segments, **extra):
    data = {"action": "snapshot_selected", "_selected_action": [s.pk for s in segments]}
    return client.post(CHANGELIST, {**data, **extra}, follow=True)


def test_freeze_shows_a_confirmation_page_first(admin_client, weekly_subs):
    segment = SegmentFactory(name="Semanal", rules=WEEKLY)
    bad = SegmentFactory(name="Rota", rules=WEEKLY)
    CustomerSegment.objects.filter(pk=bad.pk).update(rules=INVALID)
    with translation.override("en"):
        response = freeze(admin_client, [segment, bad])
    assert response.status_code == 200
    assert response.templates[0].name.endswith("snapshot_confirmation.html")
    text = html.unescape(response.content.decode())
    assert "Semanal" in text and "campo desconocido 'gone'" in text
    assert re.search(r"Semanal</strong>: 3 ", text)
    assert 'name="post" value="yes"' in text
    segment.refresh_from_db()
    assert (segment.is_dynamic, segment.snapshot_at) == (True, None)
    assert not segment.memberships.exists()


def test_confirmed_freeze_takes_the_snapshot(admin_client, weekly_subs):
    segment = SegmentFactory(name="Semanal", rules=WEEKLY)
    response = freeze(admin_client, [segment], post="yes")
    [(level, text)] = [(m.level, str(m)) for m in response.context["messages"]]
    assert level == constants.SUCCESS and text.startswith("Semanal: 3 ")
    segment.refresh_from_db()
    assert (segment.is_dynamic, segment.memberships.count()) == (False, 3)


def test_freeze_needs_the_change_permission(client, django_user_model, weekly_subs):
    segment = SegmentFactory(rules=WEEKLY)
    user = django_user_model.objects.create_user("viewer", password="x", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_customersegment"))
    client.force_login(user)
    freeze(client, [segment], post="yes")
    segment.refresh_from_db()
    assert segment.is_dynamic is True
