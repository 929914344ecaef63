"""Who is in a segment: eligibility, previews, cached counts, static snapshots, the Celery task."""

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from django_petmail.db import insert_from_select
from django_petmail.exceptions import RuleValidationError
from django_petmail.models import (
    CustomerSegment,
    NewsletterSubscription,
    SegmentMembership,
    Suppression,
)
from django_petmail.models.subscriptions import email_hash
from django_petmail.segments.fields import register_segment_field, segment_fields
from django_petmail.segments.service import (
    eligible_subscriptions,
    members_for_rules,
    preview,
    preview_segment,
    refresh_count,
    refresh_counts,
    segment_members,
    snapshot,
)
from django_petmail.tasks import update_segment_counts
from tests.factories import SegmentFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english(settings):
    """Rule validation messages are translatable; these tests assert their English msgids
    (requests get LANGUAGE_CODE from LocaleMiddleware, the test itself the override)."""
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


WEEKLY = {"operator": "AND", "conditions": [{"field": "frequency", "op": "eq", "value": "weekly"}]}
INVALID = {"operator": "AND", "conditions": [{"field": "gone", "op": "eq", "value": "x"}]}


def pks(queryset):
    return set(queryset.values_list("pk", flat=True))


def weekly(n, **kwargs):
    return [SubscriptionFactory(frequency="weekly", **kwargs) for _ in range(n)]


def make_invalid(segment):
    """Store rules that no longer validate, the way a removed field would leave them."""
    CustomerSegment.objects.filter(pk=segment.pk).update(rules=INVALID)
    segment.refresh_from_db()
    return segment


# --- eligibility ------------------------------------------------------------------------------


@pytest.mark.parametrize("status", ["pending", "unsubscribed", "bounced", "complained"])
def test_only_active_subscriptions_are_eligible(status):
    active = SubscriptionFactory(status="active")
    SubscriptionFactory(status=status)
    assert pks(eligible_subscriptions()) == {active.pk}
    assert pks(members_for_rules(None)) == {active.pk}


def test_paused_subscriptions_are_not_eligible():
    active = SubscriptionFactory()
    SubscriptionFactory(is_paused=True)
    assert pks(eligible_subscriptions()) == {active.pk}


def test_suppressed_addresses_are_not_eligible_even_while_active():
    active = SubscriptionFactory()
    suppressed = SubscriptionFactory(email="Blocked@Example.com")
    Suppression.objects.create(email_hash=email_hash("blocked@example.com"), reason="manual")
    assert suppressed.status == "active"
    assert pks(eligible_subscriptions()) == {active.pk}
    assert pks(members_for_rules({})) == {active.pk}


def test_members_for_rules_filters_eligible_subscriptions():
    matching = weekly(2)
    SubscriptionFactory(frequency="monthly")
    SubscriptionFactory(frequency="weekly", status="unsubscribed")
    SubscriptionFactory(frequency="weekly", is_paused=True)
    assert pks(members_for_rules(WEEKLY)) == {s.pk for s in matching}


def test_members_for_rules_is_one_query():
    weekly(3)
    with CaptureQueriesContext(connection) as queries:
        list(members_for_rules(WEEKLY))
    assert len(queries) == 1


def test_get_members_of_a_dynamic_segment_follows_the_rules():
    first = weekly(1)[0]
    segment = SegmentFactory(rules=WEEKLY)
    assert pks(segment.get_members()) == {first.pk}
    later = weekly(1)[0]
    assert pks(segment.get_members()) == {first.pk, later.pk}


def test_segment_with_no_rules_is_everyone_eligible():
    subs = [*weekly(2), SubscriptionFactory(frequency="monthly")]
    SubscriptionFactory(status="pending")
    segment = SegmentFactory(rules={})
    assert pks(segment.get_members()) == {s.pk for s in subs}


def test_static_segment_never_snapshotted_uses_its_rules():
    sub = weekly(1)[0]
    SubscriptionFactory(frequency="monthly")
    segment = SegmentFactory(rules=WEEKLY, is_dynamic=False)
    assert pks(segment_members(segment)) == {sub.pk}


# --- preview ----------------------------------------------------------------------------------


def test_preview_counts_samples_and_shows_sql():
    subs = weekly(5)
    SubscriptionFactory(frequency="monthly")
    result = preview(WEEKLY, sample_size=3)
    assert result.count == 5
    assert [row["id"] for row in result.sample] == sorted(s.pk for s in subs)[:3]
    assert all(set(row) == {"id", "email", "first_name", "language"} for row in result.sample)
    by_pk = {s.pk: s for s in subs}
    assert all(row["email"] == by_pk[row["id"]].email for row in result.sample)
    assert "SELECT" in result.sql
    assert "frequency" in result.sql


def test_preview_default_sample_size_is_ten():
    weekly(12)
    result = preview(WEEKLY)
    assert (result.count, len(result.sample)) == (12, 10)


def test_preview_with_sample_size_zero_only_counts():
    weekly(2)
    result = preview(WEEKLY, sample_size=0)
    assert (result.count, result.sample) == (2, [])


def test_preview_of_nobody():
    result = preview(WEEKLY)
    assert (result.count, result.sample) == (0, [])


def test_preview_of_bad_rules_is_a_validation_error():
    from django_petmail.exceptions import RuleValidationError

    with pytest.raises(RuleValidationError) as info:
        preview(INVALID)
    assert info.value.errors[0][0] == "conditions[0].field"


# --- cached counts ----------------------------------------------------------------------------


def test_refresh_count_stores_count_and_time():
    weekly(3)
    segment = SegmentFactory(rules=WEEKLY)
    assert (segment.member_count, segment.last_calculated) == (0, None)
    assert refresh_count(segment) == 3
    stored = CustomerSegment.objects.get(pk=segment.pk)
    assert stored.member_count == 3
    assert stored.last_calculated is not None
    assert (segment.member_count, segment.last_calculated) == (3, stored.last_calculated)


def test_refresh_counts_refreshes_active_segments_only():
    weekly(2)
    SubscriptionFactory(frequency="monthly")
    everyone = SegmentFactory(rules={})
    weekly_segment = SegmentFactory(rules=WEEKLY)
    inactive = SegmentFactory(rules=WEEKLY, is_active=False)
    assert refresh_counts() == {everyone.pk: 3, weekly_segment.pk: 2}
    assert CustomerSegment.objects.get(pk=weekly_segment.pk).member_count == 2
    assert CustomerSegment.objects.get(pk=inactive.pk).last_calculated is None


def test_refresh_counts_of_a_given_queryset():
    weekly(1)
    chosen = SegmentFactory(rules=WEEKLY)
    other = SegmentFactory(rules=WEEKLY)
    assert refresh_counts(CustomerSegment.objects.filter(pk=chosen.pk)) == {chosen.pk: 1}
    assert CustomerSegment.objects.get(pk=other.pk).last_calculated is None


def test_refresh_counts_reports_segments_whose_rules_no_longer_validate():
    weekly(2)
    good = SegmentFactory(rules=WEEKLY)
    bad = make_invalid(SegmentFactory(rules=WEEKLY, member_count=7))
    assert refresh_counts() == {good.pk: 2, bad.pk: None}
    stored = CustomerSegment.objects.get(pk=bad.pk)
    assert (stored.member_count, stored.last_calculated) == (7, None)


def test_a_field_unregistered_after_saving_makes_the_segment_invalid():
    register_segment_field("temporary_language", type="string", path="language")
    try:
        rules = {
            "operator": "AND",
            "conditions": [{"field": "temporary_language", "op": "eq", "value": "es"}],
        }
        segment = SegmentFactory(rules=rules)
        segment.full_clean()
        assert refresh_counts() == {segment.pk: 0}
    finally:
        segment_fields.unregister("temporary_language")
    assert refresh_counts() == {segment.pk: None}


def test_refresh_count_of_a_static_segment_counts_the_snapshot():
    subs = weekly(3)
    segment = SegmentFactory(rules=WEEKLY)
    snapshot(segment)
    NewsletterSubscription.objects.filter(pk=subs[0].pk).update(status="unsubscribed")
    weekly(2)
    assert refresh_count(segment) == 2


# --- snapshots --------------------------------------------------------------------------------


def test_snapshot_freezes_the_current_members():
    members = weekly(3)
    SubscriptionFactory(frequency="monthly")
    segment = SegmentFactory(rules=WEEKLY)
    assert snapshot(segment) == 3
    assert set(segment.memberships.values_list("subscription_id", flat=True)) == {
        s.pk for s in members
    }
    stored = CustomerSegment.objects.get(pk=segment.pk)
    assert stored.is_dynamic is False
    assert stored.snapshot_at is not None
    assert stored.member_count == 3
    assert stored.last_calculated == stored.snapshot_at
    assert (segment.is_dynamic, segment.snapshot_at) == (False, stored.snapshot_at)
    added = set(segment.memberships.values_list("added_at", flat=True))
    assert added == {stored.snapshot_at}


def test_later_matching_subscriptions_are_not_members_of_a_snapshot():
    members = weekly(2)
    segment = SegmentFactory(rules=WEEKLY)
    snapshot(segment)
    weekly(1)
    segment.refresh_from_db()
    assert pks(segment.get_members()) == {s.pk for s in members}


def test_snapshot_members_that_become_ineligible_drop_out():
    members = weekly(3)
    segment = SegmentFactory(rules=WEEKLY)
    snapshot(segment)
    members[0].status = "unsubscribed"
    members[0].save()
    members[1].is_paused = True
    members[1].save()
    segment.refresh_from_db()
    assert pks(segment.get_members()) == {members[2].pk}
    Suppression.objects.create(email_hash=email_hash(members[2].email), reason="complained")
    assert pks(segment.get_members()) == set()
    assert SegmentMembership.objects.filter(segment=segment).count() == 3


def test_snapshot_members_stay_when_they_stop_matching_the_rules():
    members = weekly(2)
    segment = SegmentFactory(rules=WEEKLY)
    snapshot(segment)
    NewsletterSubscription.objects.filter(pk=members[0].pk).update(frequency="monthly")
    assert pks(segment.get_members()) == {s.pk for s in members}


def test_resnapshot_replaces_the_members():
    first = weekly(2)
    segment = SegmentFactory(rules=WEEKLY)
    snapshot(segment)
    NewsletterSubscription.objects.filter(pk=first[0].pk).update(frequency="monthly")
    later = weekly(1)[0]
    assert snapshot(segment) == 2
    assert set(segment.memberships.values_list("subscription_id", flat=True)) == {
        first[1].pk,
        later.pk,
    }
    assert pks(segment.get_members()) == {first[1].pk, later.pk}


def test_snapshot_of_nobody():
    segment = SegmentFactory(rules=WEEKLY)
    assert snapshot(segment) == 0
    assert segment.is_dynamic is False
    assert pks(segment.get_members()) == set()


def test_snapshot_of_invalid_rules_changes_nothing():
    from django_petmail.exceptions import RuleValidationError

    weekly(1)
    segment = SegmentFactory(rules=WEEKLY)
    snapshot(segment)
    segment = make_invalid(segment)
    with pytest.raises(RuleValidationError):
        snapshot(segment)
    assert segment.memberships.count() == 1


def _snapshot_queries(n_members, assert_max_queries):
    NewsletterSubscription.objects.all().delete()
    SubscriptionFactory.create_batch(n_members, frequency="weekly")
    segment = SegmentFactory(rules=WEEKLY)
    with assert_max_queries(5) as queries:
        assert snapshot(segment) == n_members
    assert segment.memberships.count() == n_members
    return [q["sql"] for q in queries.captured_queries]


def test_snapshot_is_one_insert_select_whatever_the_size(django_assert_max_num_queries):
    small = _snapshot_queries(3, django_assert_max_num_queries)
    large = _snapshot_queries(30, django_assert_max_num_queries)
    assert len(small) == len(large)
    inserts = [sql for sql in large if sql.lstrip().upper().startswith("INSERT")]
    assert len(inserts) == 1
    assert "SELECT" in inserts[0].upper()


# --- model validation -------------------------------------------------------------------------


def test_full_clean_rejects_bad_rules_with_paths():
    segment = CustomerSegment(
        name="Perros",
        slug="perros",
        rules={
            "operator": "AND",
            "conditions": [
                {"field": "last_visit_date", "op": "contains", "value": "x"},
                {"field": "pets__species", "op": "eq", "value": "dragon"},
            ],
        },
    )
    with pytest.raises(ValidationError) as info:
        segment.full_clean()
    messages = info.value.message_dict["rules"]
    assert len(messages) == 2
    assert messages[0].startswith(
        "conditions[0].op: 'contains' is not allowed for field 'last_visit_date' (date)"
    )
    assert (
        messages[1] == "conditions[1].value: 'dragon' is not one of dog, cat, rabbit, bird, other"
    )


@pytest.mark.parametrize("rules", [["x"], "x", 3])
def test_full_clean_rejects_non_object_rules(rules):
    segment = CustomerSegment(name="X", slug="x", rules=rules)
    with pytest.raises(ValidationError) as info:
        segment.full_clean()
    assert info.value.message_dict["rules"][0].startswith("rules: must be an object")


@pytest.mark.parametrize("rules", [{}, WEEKLY, {"not": WEEKLY}])
def test_full_clean_accepts_good_rules(rules):
    CustomerSegment(name="X", slug="x", rules=rules).full_clean()


# --- the Celery task --------------------------------------------------------------------------


def test_task_name_is_stable():
    assert update_segment_counts.name == "django_petmail.tasks.update_segment_counts"


def test_task_refreshes_all_active_segments():
    weekly(2)
    first = SegmentFactory(rules=WEEKLY)
    second = SegmentFactory(rules={})
    inactive = SegmentFactory(rules=WEEKLY, is_active=False)
    result = update_segment_counts.apply()
    assert result.successful()
    assert result.get() == {"refreshed": 2, "invalid": []}
    counts = dict(CustomerSegment.objects.values_list("pk", "member_count"))
    assert counts == {first.pk: 2, second.pk: 2, inactive.pk: 0}


def test_task_respects_segment_ids():
    weekly(1)
    chosen = SegmentFactory(rules=WEEKLY)
    other = SegmentFactory(rules=WEEKLY)
    inactive = SegmentFactory(rules=WEEKLY, is_active=False)
    result = update_segment_counts.apply(kwargs={"segment_ids": [str(chosen.pk), inactive.pk]})
    assert result.get() == {"refreshed": 1, "invalid": []}
    assert CustomerSegment.objects.get(pk=chosen.pk).member_count == 1
    assert CustomerSegment.objects.get(pk=other.pk).last_calculated is None
    assert CustomerSegment.objects.get(pk=inactive.pk).last_calculated is None


def test_task_reports_invalid_segments():
    weekly(1)
    good = SegmentFactory(rules=WEEKLY)
    bad = make_invalid(SegmentFactory(rules=WEEKLY))
    result = update_segment_counts.apply(args=([good.pk, bad.pk],))
    assert result.get() == {"refreshed": 2, "invalid": [bad.pk]}
    assert CustomerSegment.objects.get(pk=good.pk).member_count == 1


def test_task_runs_eagerly_with_delay(settings):
    if not settings.CELERY_TASK_ALWAYS_EAGER:
        pytest.skip("a real broker is configured")
    weekly(2)
    segment = SegmentFactory(rules=WEEKLY)
    result = update_segment_counts.delay(segment_ids=[segment.pk])
    assert result.get() == {"refreshed": 1, "invalid": []}
    assert CustomerSegment.objects.get(pk=segment.pk).member_count == 2


def test_task_with_no_segments():
    assert update_segment_counts.apply().get() == {"refreshed": 0, "invalid": []}


# --- insert_from_select -----------------------------------------------------------------------


def _membership_rows(segment):
    from django.db.models import DateTimeField, F, Value
    from django.utils import timezone

    return (
        NewsletterSubscription.objects.annotate(
            _segment=Value(segment.pk),
            _sub=F("pk"),
            _added=Value(timezone.now(), output_field=DateTimeField()),
        )
        .values_list("_segment", "_sub", "_added")
        .order_by()
    )


def test_insert_from_select_inserts_every_row():
    weekly(4)
    segment = SegmentFactory(rules={})
    fields = ["segment", "subscription", "added_at"]
    assert insert_from_select(SegmentMembership, fields, _membership_rows(segment)) == 4
    assert segment.memberships.count() == 4


def test_insert_from_select_ignore_conflicts_skips_existing_rows():
    weekly(3)
    segment = SegmentFactory(rules={})
    fields = ["segment", "subscription", "added_at"]
    rows = _membership_rows(segment)
    assert insert_from_select(SegmentMembership, fields, rows, ignore_conflicts=True) == 3
    assert insert_from_select(SegmentMembership, fields, rows, ignore_conflicts=True) == 0
    weekly(1)
    assert insert_from_select(SegmentMembership, fields, rows, ignore_conflicts=True) == 1
    assert segment.memberships.count() == 4


def test_insert_from_select_without_ignore_conflicts_raises_on_duplicates():
    weekly(2)
    segment = SegmentFactory(rules={})
    fields = ["segment", "subscription", "added_at"]
    rows = _membership_rows(segment)
    insert_from_select(SegmentMembership, fields, rows)
    with pytest.raises(IntegrityError), transaction.atomic():
        insert_from_select(SegmentMembership, fields, rows)
    assert segment.memberships.count() == 2


@pytest.mark.django_db
def test_update_from_pairs_without_update_from_support(monkeypatch):
    """The fallback for SQLite < 3.33 writes the same values."""
    from django_petmail import db
    from django_petmail.models import NewsletterSubscription

    subs = [SubscriptionFactory(first_name="x") for _ in range(3)]
    monkeypatch.setattr(db, "_has_update_from", lambda connection: False)
    db.update_from_pairs(
        NewsletterSubscription, "first_name", [(s.pk, f"N{i}") for i, s in enumerate(subs)]
    )
    assert sorted(NewsletterSubscription.objects.values_list("first_name", flat=True)) == [
        "N0",
        "N1",
        "N2",
    ]


@pytest.mark.django_db
@pytest.mark.parametrize("bad", [["x"], "1,2", [1.5], [True], 7, ["-1"]])
def test_update_segment_counts_refuses_malformed_ids(bad):
    from django_petmail.tasks import update_segment_counts

    with pytest.raises(ValueError, match="segment_ids must be a list of integer ids"):
        update_segment_counts.apply(args=(bad,), throw=True)


# --- frozen or not: one rule, one place -------------------------------------------------------


def test_a_segment_is_frozen_only_once_static_and_snapshotted():
    from django.utils import timezone

    assert SegmentFactory.build().is_frozen is False
    assert SegmentFactory.build(is_dynamic=False).is_frozen is False  # never snapshotted
    assert SegmentFactory.build(snapshot_at=timezone.now()).is_frozen is False  # dynamic again
    assert SegmentFactory.build(is_dynamic=False, snapshot_at=timezone.now()).is_frozen is True


def test_preview_segment_of_a_dynamic_segment_follows_its_rules():
    members = weekly(3)
    SubscriptionFactory(frequency="monthly")
    segment = SegmentFactory(rules=WEEKLY)
    result = preview_segment(segment, sample_size=2)
    assert result == preview(WEEKLY, sample_size=2)
    assert result.count == 3
    assert [row["id"] for row in result.sample] == sorted(s.pk for s in members)[:2]


def test_preview_segment_of_a_frozen_segment_shows_the_snapshot():
    members = weekly(2)
    segment = SegmentFactory(rules=WEEKLY)
    snapshot(segment)
    weekly(1)  # matches the rules now, but is not in the snapshot
    result = preview_segment(segment)
    assert result.count == 2
    assert [row["id"] for row in result.sample] == sorted(s.pk for s in members)
    assert set(result.sample[0]) == {"id", "email", "first_name", "language"}
    assert "segmentmembership" in result.sql.lower()


def test_preview_segment_of_invalid_rules_is_a_validation_error():
    segment = make_invalid(SegmentFactory(rules=WEEKLY))
    with pytest.raises(RuleValidationError):
        preview_segment(segment)
