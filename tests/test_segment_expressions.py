"""compare(): any SQL expression as a Q, used by subquery-backed segment fields."""

import pytest
from django.db.models import F

from django_petmail.models import NewsletterSubscription
from django_petmail.segments.expressions import compare
from tests.factories import SubscriptionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def subs():
    return {n: SubscriptionFactory(first_name=str(n)) for n in (1, 2, 3)}


@pytest.mark.parametrize(
    ("op", "value", "expected"),
    [
        ("eq", 2, [2]),
        ("ne", 2, [1, 3]),
        ("gt", 1, [2, 3]),
        ("gte", 2, [2, 3]),
        ("lt", 2, [1]),
        ("lte", 2, [1, 2]),
        ("in", [1, 3], [1, 3]),
        ("not_in", [1, 3], [2]),
        ("between", [2, 3], [2, 3]),
        ("is_null", False, [1, 2, 3]),
        ("is_null", True, []),
    ],
)
def test_compare(subs, op, value, expected):
    pks = {n: s.pk for n, s in subs.items()}
    value = (
        [pks[v] for v in value]
        if isinstance(value, list)
        else pks[value]
        if op not in {"is_null"}
        else value
    )
    by_pk = {s.pk: n for n, s in subs.items()}
    got = sorted(
        by_pk[s.pk] for s in NewsletterSubscription.objects.filter(compare(F("pk"), op, value))
    )
    assert got == expected


def test_unknown_operator():
    with pytest.raises(ValueError, match="cannot compare"):
        compare(F("pk"), "contains", "x")
