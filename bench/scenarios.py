"""Benchmark scenarios. Each returns rows for the table: ours beside the floor (and peer)."""

from __future__ import annotations

from typing import Any

from django.db import connection
from django.utils import timezone

from bench.run import Row, measure

DESIGN_RULES = {
    "operator": "AND",
    "conditions": [
        {"field": "pets__species", "op": "eq", "value": "dog"},
        {"field": "last_visit_date", "op": "gte", "value": "-90d"},
        {"field": "lifetime_value", "op": "gte", "value": 1000},
    ],
}

# What a DBA would write by hand for the same three conditions.
FLOOR_SQL = """
SELECT s.id FROM django_petmail_newslettersubscription s
WHERE s.status = 'active' AND NOT s.is_paused
  AND NOT EXISTS (SELECT 1 FROM django_petmail_suppression x WHERE x.email_hash = s.email_hash)
  AND EXISTS (SELECT 1 FROM clinic_pet p WHERE p.owner_id = s.owner_id AND p.species = 'dog')
  AND EXISTS (SELECT 1 FROM clinic_appointment a
              WHERE a.owner_id = s.owner_id AND a.status = 'completed'
                AND (a.start AT TIME ZONE %(tz)s)::date >= %(since)s)
  AND (SELECT COALESCE(SUM(o.total), 0) FROM clinic_order o
       WHERE o.owner_id = s.owner_id AND o.status = 'completed') >= 1000
"""


def segmentation(info: dict[str, Any]) -> list[Row]:
    from django_petmail.segments.service import members_for_rules
    from django_petmail.segments.values import parse_relative

    since = parse_relative("-90d").resolve()  # type: ignore[union-attr]
    params = {"tz": timezone.get_current_timezone_name(), "since": since}

    def ours_count() -> int:
        return members_for_rules(DESIGN_RULES).count()

    def ours_ids() -> int:
        return len(list(members_for_rules(DESIGN_RULES).values_list("pk", flat=True)))

    def floor_count() -> int:
        with connection.cursor() as cur:
            cur.execute(f"SELECT count(*) FROM ({FLOOR_SQL}) t", params)
            return int(cur.fetchone()[0])

    def floor_ids() -> int:
        with connection.cursor() as cur:
            cur.execute(FLOOR_SQL, params)
            return len(cur.fetchall())

    count, base_count = measure(ours_count), measure(floor_count)
    ids, base_ids = measure(ours_ids), measure(floor_ids)
    assert count.result == base_count.result == ids.result == base_ids.result, (
        count.result,
        base_count.result,
        ids.result,
        base_ids.result,
    )
    n = info["subscriptions"]
    return [
        Row(f"segment count ({n:,} subs, {count.result:,} members)", count, base_count, "≤1.3×"),
        Row(f"segment materialize ids ({ids.result:,})", ids, base_ids, "≤1.3×"),
    ]


ALL = [segmentation]
