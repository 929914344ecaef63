"""On PostgreSQL, two snapshots of the same segment at once serialize: no error, one frozen
membership per member."""

import threading

import pytest
from django.db import connections

from django_petmail.models import SegmentMembership
from django_petmail.segments.service import snapshot
from tests.factories import SegmentFactory, SubscriptionFactory

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]


def test_concurrent_snapshots_of_one_segment():
    for i in range(200):
        SubscriptionFactory(email=f"s{i}@example.com", topics=["news"])
    segment = SegmentFactory(
        rules={
            "operator": "AND",
            "conditions": [{"field": "topics", "op": "contains", "value": "news"}],
        }
    )
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def run() -> None:
        try:
            barrier.wait()
            snapshot(type(segment).objects.get(pk=segment.pk))
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert SegmentMembership.objects.filter(segment=segment).count() == 200
