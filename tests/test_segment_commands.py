"""The segment and schedule management commands, including their bad input."""

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import translation
from django_celery_beat.models import PeriodicTask

from django_petmail.models import CustomerSegment
from tests.factories import SegmentFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english(settings):
    """Rule validation messages are translatable; these tests assert their English msgids
    (requests get LANGUAGE_CODE from LocaleMiddleware, the test itself the override)."""
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


NEWS = {"operator": "AND", "conditions": [{"field": "topics", "op": "contains", "value": "news"}]}


def run(*args):
    out, err = StringIO(), StringIO()
    call_command("petmail_segments", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_refresh_all_and_by_slug():
    SubscriptionFactory.create_batch(2, topics=["news"])
    SubscriptionFactory(topics=["promotions"])
    SegmentFactory(slug="news", rules=NEWS)
    SegmentFactory(slug="everyone", rules={})
    out, _ = run("refresh")
    assert out.splitlines() == ["everyone: 3", "news: 2"]
    out, _ = run("refresh", "--slug", "news")
    assert out.splitlines() == ["news: 2"]
    assert CustomerSegment.objects.get(slug="news").member_count == 2


def test_refresh_reports_invalid_rules_and_unknown_slugs():
    segment = SegmentFactory(slug="broken")
    CustomerSegment.objects.filter(pk=segment.pk).update(rules={"operator": "XOR"})
    _out, err = run("refresh")
    assert "broken: rules no longer valid" in err
    with pytest.raises(CommandError, match="slug: no active segment nope"):
        run("refresh", "--slug", "nope")


def test_preview_rules_and_slug():
    SubscriptionFactory(email="a@example.com", topics=["news"])
    out, _ = run("preview", "--rules", json.dumps(NEWS))
    assert out.splitlines() == ["1 members", "  a@example.com"]
    SegmentFactory(slug="news", rules=NEWS)
    out, _ = run("preview", "--slug", "news", "--sample", "0")
    assert out.splitlines() == ["1 members"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["preview", "--rules", "{not json"], "--rules: not valid JSON"),
        (
            ["preview", "--rules", '{"operator": "AND", "conditions": []}'],
            "rules: conditions: a group needs at least one condition",
        ),
        (["preview", "--slug", "missing"], "slug: no segment 'missing'"),
        (["preview", "--rules", "{}", "--sample", "500"], "--sample must be between"),
        (["snapshot", "missing"], "slug: no segment 'missing'"),
    ],
)
def test_bad_input(args, message):
    with pytest.raises(CommandError, match=message):
        run(*args)


def test_snapshot():
    SubscriptionFactory.create_batch(3, topics=["news"])
    SegmentFactory(slug="news", rules=NEWS)
    out, _ = run("snapshot", "news")
    assert out.strip() == "news: froze 3 members."
    segment = CustomerSegment.objects.get(slug="news")
    assert not segment.is_dynamic and segment.memberships.count() == 3


def test_schedule_installs_periodic_tasks_idempotently():
    out = StringIO()
    call_command("petmail_schedule", stdout=out)
    call_command("petmail_schedule", stdout=out)
    task = PeriodicTask.objects.get(task="django_petmail.tasks.update_segment_counts")
    assert task.enabled and task.interval.every == 60
    assert "updated django_petmail.tasks.update_segment_counts" in out.getvalue()
    call_command("petmail_schedule", "--disable", stdout=out)
    task.refresh_from_db()
    assert not task.enabled
    names = set(PeriodicTask.objects.values_list("task", flat=True))
    assert names == {
        "django_petmail.tasks.update_segment_counts",
        "django_petmail.tasks.start_due_campaigns",
        "django_petmail.tasks.pick_ab_winners",
        "django_petmail.tasks.reap_stuck_sends",
        "django_petmail.tasks.resume_stalled_campaigns",
        "django_petmail.tasks.process_automated_sequences",
    }
    assert not PeriodicTask.objects.filter(enabled=True).exists()


def test_preview_of_a_static_segment_shows_the_frozen_members():
    SubscriptionFactory(email="early@example.com", topics=["news"])
    SegmentFactory(slug="news", rules=NEWS)
    run("snapshot", "news")
    SubscriptionFactory(email="late@example.com", topics=["news"])
    out, _ = run("preview", "--slug", "news")
    assert out.splitlines() == ["1 members (frozen)", "  early@example.com"]
