"""The segment API: preview, field catalogue, CRUD with validated rules, refresh, snapshot.

Bad rules are always a 400 with every error's JSON path, never a 500.
"""

import json

import pytest
from django.utils import translation

from django_petmail.models import CustomerSegment, NewsletterSubscription
from django_petmail.segments.fields import register_segment_field, segment_fields
from tests.factories import SegmentFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english(settings):
    """Rule validation messages are translatable; these tests assert their English msgids
    (requests get LANGUAGE_CODE from LocaleMiddleware, the test itself the override)."""
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


BASE = "/petmail/api/segments/"
PREVIEW = BASE + "preview/"
FIELDS = BASE + "fields/"

WEEKLY = {"operator": "AND", "conditions": [{"field": "frequency", "op": "eq", "value": "weekly"}]}
INVALID = {"operator": "AND", "conditions": [{"field": "gone", "op": "eq", "value": "x"}]}


def group(*conditions, operator="AND"):
    return {"operator": operator, "conditions": list(conditions)}


@pytest.fixture
def weekly_subs():
    subs = [SubscriptionFactory(frequency="weekly") for _ in range(3)]
    SubscriptionFactory(frequency="monthly")
    SubscriptionFactory(frequency="weekly", status="unsubscribed")
    return subs


def invalid_segment(**kwargs):
    segment = SegmentFactory(rules=WEEKLY, **kwargs)
    CustomerSegment.objects.filter(pk=segment.pk).update(rules=INVALID)
    return segment


# --- permissions ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "url"),
    [("post", PREVIEW), ("get", FIELDS), ("get", BASE), ("post", BASE)],
)
def test_anonymous_is_refused(anonymous_api, method, url):
    response = getattr(anonymous_api, method)(url, {"rules": WEEKLY}, format="json")
    assert response.status_code in (401, 403)


def test_non_staff_is_refused(non_staff_api):
    assert non_staff_api.post(PREVIEW, {"rules": WEEKLY}, format="json").status_code == 403
    assert non_staff_api.get(FIELDS).status_code == 403


def test_detail_actions_are_staff_only(anonymous_api):
    segment = SegmentFactory(rules=WEEKLY)
    assert anonymous_api.get(f"{BASE}{segment.pk}/preview/").status_code in (401, 403)
    assert anonymous_api.post(f"{BASE}{segment.pk}/refresh/").status_code in (401, 403)
    assert anonymous_api.post(f"{BASE}{segment.pk}/snapshot/").status_code in (401, 403)
    assert CustomerSegment.objects.get(pk=segment.pk).is_dynamic is True


# --- preview ----------------------------------------------------------------------------------


def test_preview_counts_samples_and_shows_sql(api, weekly_subs):
    response = api.post(PREVIEW, {"rules": WEEKLY, "sample_size": 2}, format="json")
    assert response.status_code == 200
    data = response.json()
    assert data["count"] == 3
    assert [row["id"] for row in data["sample"]] == sorted(s.pk for s in weekly_subs)[:2]
    assert set(data["sample"][0]) == {"id", "email", "first_name", "language"}
    assert "SELECT" in data["sql"]


def test_preview_defaults_to_ten_rows(api):
    SubscriptionFactory.create_batch(12)
    data = api.post(PREVIEW, {"rules": {}}, format="json").json()
    assert (data["count"], len(data["sample"])) == (12, 10)


def test_preview_of_no_rules_is_everyone_eligible(api, weekly_subs):
    assert api.post(PREVIEW, {"rules": {}}, format="json").json()["count"] == 4


def test_preview_of_a_top_level_not(api, weekly_subs):
    response = api.post(PREVIEW, {"rules": {"not": WEEKLY}}, format="json")
    assert (response.status_code, response.json()["count"]) == (200, 1)


@pytest.mark.parametrize(
    ("rules", "path", "fragment"),
    [
        (group({"field": "colour", "op": "eq", "value": "red"}), "conditions[0].field", "known"),
        (group({"field": "status", "op": "like", "value": "a"}), "conditions[0].op", "'like'"),
        (
            group(
                {"field": "status", "op": "eq", "value": "active"},
                {"field": "last_visit_date", "op": "contains", "value": "x"},
            ),
            "conditions[1].op",
            "'contains' is not allowed for field 'last_visit_date' (date)",
        ),
        (
            group({"field": "orders_count", "op": "gte", "value": "5"}),
            "conditions[0].value",
            "expected a number",
        ),
        (
            group({"field": "orders_count", "op": "gte", "value": 10**30}),
            "conditions[0].value",
            "out of range",
        ),
        (
            group({"field": "orders_count", "op": "lt", "value": 1e300}),
            "conditions[0].value",
            "out of range",
        ),
        (
            group({"field": "received_campaign", "op": "eq", "value": 2**63}),
            "conditions[0].value",
            "expected the id of a record",
        ),
        (
            group({"field": "pets__species", "op": "eq", "value": "dragon"}),
            "conditions[0].value",
            "'dragon' is not one of",
        ),
        (
            group({"field": "last_visit_date", "op": "gte", "value": "-90x"}),
            "conditions[0].value",
            "relative date",
        ),
        (
            group({"field": "last_visit_date", "op": "gte", "value": "-99999y"}),
            "conditions[0].value",
            "relative date out of range",
        ),
        (
            group({"field": "subscribed_at", "op": "lt", "value": "+99999m"}),
            "conditions[0].value",
            "relative date out of range",
        ),
        (group(), "conditions", "at least one condition"),
        (
            group(group(group(group(group(group({"field": "status", "op": "eq", "value": "x"})))))),
            "conditions[0].conditions[0].conditions[0].conditions[0].conditions[0]",
            "deeper than the limit of 5",
        ),
        (
            group({"field": "status", "op": "in", "value": "active"}),
            "conditions[0].value",
            "takes a list",
        ),
        (
            group({"field": "language", "op": "in", "value": ["es"] * 1001}),
            "conditions[0].value",
            "at most 1000 values",
        ),
        (["not", "an", "object"], "rules", "must be an object"),
        ("status = 'active'", "rules", "must be an object"),
        (42, "rules", "must be an object"),
        (group("status"), "conditions[0]", "must be an object"),
        (group(operator="XOR"), "operator", "must be 'AND' or 'OR'"),
        (group({"not": {"field": "status", "op": "eq"}}), "conditions[0].not.value", "required"),
    ],
)
def test_bad_rules_are_400_with_paths(api, rules, path, fragment):
    response = api.post(PREVIEW, {"rules": rules}, format="json")
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert all(set(error) == {"path", "message"} for error in errors)
    matching = [e["message"] for e in errors if e["path"] == path]
    assert matching, errors
    assert fragment in matching[0]


def test_every_error_is_listed(api):
    rules = group(
        {"field": "colour", "op": "eq", "value": "red"},
        {"field": "status", "op": "eq", "value": "zombie"},
    )
    errors = api.post(PREVIEW, {"rules": rules}, format="json").json()["errors"]
    assert [e["path"] for e in errors] == ["conditions[0].field", "conditions[1].value"]


def test_a_field_whose_lookup_raises_is_400(api):
    def broken(op, value):
        raise RuntimeError("the orders service is down")

    register_segment_field("broken_api_field", type="number", lookup=broken)
    try:
        response = api.post(
            PREVIEW,
            {"rules": group({"field": "broken_api_field", "op": "gt", "value": 1})},
            format="json",
        )
    finally:
        segment_fields.unregister("broken_api_field")
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {
            "path": "conditions[0]",
            "message": "field 'broken_api_field' could not be evaluated: the orders service "
            "is down",
        }
    ]


def test_a_field_with_a_bad_path_is_400(api):
    register_segment_field("ghost_api_field", type="string", path="owner__no_such_column")
    try:
        response = api.post(
            PREVIEW,
            {"rules": group({"field": "ghost_api_field", "op": "eq", "value": "x"})},
            format="json",
        )
    finally:
        segment_fields.unregister("ghost_api_field")
    assert response.status_code == 400
    assert response.json()["errors"][0]["path"] == "rules"


@pytest.mark.parametrize("body", ["[1, 2]", '"text"', "42", "not json", "null"])
def test_non_object_bodies_are_400(api, body):
    response = api.post(PREVIEW, body, content_type="application/json")
    assert response.status_code == 400


def test_missing_rules_is_400(api):
    response = api.post(PREVIEW, {"sample_size": 3}, format="json")
    assert response.status_code == 400
    assert "rules" in response.json()


def test_null_rules_is_400(api):
    response = api.post(PREVIEW, {"rules": None}, format="json")
    assert response.status_code == 400
    assert "rules" in response.json()


@pytest.mark.parametrize("sample_size", [-1, 101, "many", 1.5])
def test_sample_size_out_of_bounds_is_400(api, sample_size):
    response = api.post(PREVIEW, {"rules": {}, "sample_size": sample_size}, format="json")
    assert response.status_code == 400
    assert "sample_size" in response.json()


@pytest.mark.parametrize(("sample_size", "rows"), [(0, 0), (1, 1), (100, 3)])
def test_sample_size_within_bounds(api, weekly_subs, sample_size, rows):
    response = api.post(PREVIEW, {"rules": WEEKLY, "sample_size": sample_size}, format="json")
    assert response.status_code == 200
    assert (response.json()["count"], len(response.json()["sample"])) == (3, rows)


# --- field catalogue --------------------------------------------------------------------------


def test_fields_lists_every_registered_field(api):
    response = api.get(FIELDS)
    assert response.status_code == 200
    fields = {row["name"]: row for row in response.json()}
    assert set(fields) == set(segment_fields.names())
    species = fields["pets__species"]
    assert species["type"] == "choice"
    assert species["label"] == "Especie de la mascota"
    assert species["ops"] == ["eq", "ne", "in", "not_in", "is_null"]
    assert ["dog", "Perro"] in species["choices"]
    assert fields["last_visit_date"]["type"] == "date"
    assert "between" in fields["last_visit_date"]["ops"]
    assert fields["last_visit_date"]["choices"] == []
    assert fields["email_engagement"]["ops"] == ["opened_in_last", "clicked_in_last"]
    assert fields["vaccination_due"]["ops"] == ["within"]
    assert fields["topics"]["type"] == "list"
    assert ["active", "Active"] in fields["status"]["choices"]  # under the English fixture
    assert all(isinstance(row["label"], str) for row in fields.values())


def test_fields_include_a_newly_registered_field(api):
    register_segment_field("api_new_field", type="number", path="pk", label="New")
    try:
        names = [row["name"] for row in api.get(FIELDS).json()]
    finally:
        segment_fields.unregister("api_new_field")
    assert "api_new_field" in names


# --- CRUD -------------------------------------------------------------------------------------


def test_create_with_valid_rules(api, weekly_subs):
    response = api.post(
        BASE,
        {"name": "Semanal", "slug": "semanal", "rules": WEEKLY, "member_count": 99},
        format="json",
    )
    assert response.status_code == 201, response.json()
    segment = CustomerSegment.objects.get()
    assert (segment.name, segment.rules, segment.member_count) == ("Semanal", WEEKLY, 0)
    assert response.json()["is_dynamic"] is True


@pytest.mark.usefixtures("english")
def test_create_with_invalid_rules_names_the_field_and_path(api):
    rules = group(
        {"field": "status", "op": "eq", "value": "active"},
        {"field": "last_visit_date", "op": "contains", "value": "x"},
    )
    response = api.post(BASE, {"name": "Mal", "slug": "mal", "rules": rules}, format="json")
    assert response.status_code == 400
    messages = response.json()["rules"]
    assert len(messages) == 1
    assert messages[0].startswith(
        "conditions[1].op: 'contains' is not allowed for field 'last_visit_date' (date)"
    )
    assert not CustomerSegment.objects.exists()


@pytest.mark.parametrize(
    "rules",
    [
        None,
        ["x"],
        "x",
        group(),
        group({"field": "orders_count", "op": "gte", "value": 10**30}),
        group({"field": "last_visit_date", "op": "gte", "value": "-99999y"}),
    ],
)
def test_create_with_bad_rules_is_400(api, rules):
    response = api.post(BASE, {"name": "Mal", "slug": "mal", "rules": rules}, format="json")
    assert response.status_code == 400
    assert "rules" in response.json()
    assert not CustomerSegment.objects.exists()


@pytest.mark.usefixtures("english")
def test_list_retrieve_update_delete(api):
    segment = SegmentFactory(name="B", rules=WEEKLY)
    SegmentFactory(name="A", rules={})
    listed = api.get(BASE).json()["results"]
    assert [row["name"] for row in listed] == ["A", "B"]
    url = f"{BASE}{segment.pk}/"
    assert api.get(url).json()["rules"] == WEEKLY

    monthly = group({"field": "frequency", "op": "eq", "value": "monthly"})
    response = api.patch(url, {"rules": monthly}, format="json")
    assert response.status_code == 200
    assert CustomerSegment.objects.get(pk=segment.pk).rules == monthly

    response = api.patch(url, {"rules": INVALID}, format="json")
    assert response.status_code == 400
    assert response.json()["rules"][0].startswith("conditions[0].field: unknown field 'gone'")
    assert CustomerSegment.objects.get(pk=segment.pk).rules == monthly

    response = api.put(url, {"name": "C", "slug": "c", "rules": WEEKLY}, format="json")
    assert response.status_code == 200
    assert CustomerSegment.objects.get(pk=segment.pk).name == "C"

    assert api.delete(url).status_code == 204
    assert not CustomerSegment.objects.filter(pk=segment.pk).exists()


def test_read_only_fields_are_ignored_on_update(api):
    segment = SegmentFactory(rules=WEEKLY)
    response = api.patch(
        f"{BASE}{segment.pk}/", {"member_count": 5, "snapshot_at": None}, format="json"
    )
    assert response.status_code == 200
    assert CustomerSegment.objects.get(pk=segment.pk).member_count == 0


# --- actions on saved segments ----------------------------------------------------------------


def test_detail_preview_of_a_dynamic_segment(api, weekly_subs):
    segment = SegmentFactory(rules=WEEKLY)
    response = api.get(f"{BASE}{segment.pk}/preview/")
    assert response.status_code == 200
    data = response.json()
    assert data["count"] == 3
    assert {row["id"] for row in data["sample"]} == {s.pk for s in weekly_subs}
    assert "SELECT" in data["sql"]


def test_detail_preview_of_a_static_segment_shows_the_snapshot(api, weekly_subs):
    segment = SegmentFactory(rules=WEEKLY)
    assert api.post(f"{BASE}{segment.pk}/snapshot/").status_code == 200
    SubscriptionFactory(frequency="weekly")
    NewsletterSubscription.objects.filter(pk=weekly_subs[0].pk).update(status="unsubscribed")
    data = api.get(f"{BASE}{segment.pk}/preview/").json()
    assert data["count"] == 2
    assert [row["id"] for row in data["sample"]] == sorted(s.pk for s in weekly_subs[1:])
    assert set(data["sample"][0]) == {"id", "email", "first_name", "language"}
    assert "SELECT" in data["sql"]


def test_refresh(api, weekly_subs):
    segment = SegmentFactory(rules=WEEKLY)
    response = api.post(f"{BASE}{segment.pk}/refresh/")
    assert response.status_code == 200
    assert response.json()["member_count"] == 3
    assert response.json()["last_calculated"] is not None
    assert CustomerSegment.objects.get(pk=segment.pk).member_count == 3


def test_snapshot(api, weekly_subs):
    segment = SegmentFactory(rules=WEEKLY)
    response = api.post(f"{BASE}{segment.pk}/snapshot/")
    assert response.status_code == 200
    data = response.json()
    assert (data["is_dynamic"], data["member_count"]) == (False, 3)
    assert data["snapshot_at"] is not None
    assert segment.memberships.count() == 3


def test_unknown_segment_is_404(api):
    assert api.get(f"{BASE}999999/preview/").status_code == 404
    assert api.post(f"{BASE}999999/refresh/").status_code == 404
    assert api.post(f"{BASE}999999/snapshot/").status_code == 404


@pytest.mark.parametrize(
    ("method", "action"), [("get", "preview"), ("post", "refresh"), ("post", "snapshot")]
)
def test_saved_rules_that_became_invalid_are_400(api, weekly_subs, method, action):
    segment = invalid_segment()
    response = getattr(api, method)(f"{BASE}{segment.pk}/{action}/")
    assert response.status_code == 400
    assert response.json()["errors"][0]["path"] == "conditions[0].field"
    assert "unknown field 'gone'" in response.json()["errors"][0]["message"]
    stored = CustomerSegment.objects.get(pk=segment.pk)
    assert (stored.is_dynamic, stored.member_count, stored.last_calculated) == (True, 0, None)
    assert not stored.memberships.exists()


def test_a_snapshotted_segment_with_invalid_rules_still_previews_its_snapshot(api, weekly_subs):
    segment = SegmentFactory(rules=WEEKLY)
    api.post(f"{BASE}{segment.pk}/snapshot/")
    CustomerSegment.objects.filter(pk=segment.pk).update(rules=INVALID)
    response = api.get(f"{BASE}{segment.pk}/preview/")
    assert (response.status_code, response.json()["count"]) == (200, 3)
    assert api.post(f"{BASE}{segment.pk}/refresh/").json()["member_count"] == 3
    assert api.post(f"{BASE}{segment.pk}/snapshot/").status_code == 400


def test_the_list_still_works_with_an_invalid_segment(api):
    invalid_segment()
    response = api.get(BASE)
    assert response.status_code == 200
    assert json.loads(response.content)["results"][0]["rules"] == INVALID
