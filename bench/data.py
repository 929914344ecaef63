"""Benchmark data, generated in SQL with ``generate_series`` (1M owners in seconds)."""

from __future__ import annotations

import time
from typing import Any

from django.db import connection

TABLES = [
    "django_petmail_emailevent",
    "django_petmail_emailsend",
    "django_petmail_segmentmembership",
    "django_petmail_consentevent",
    "django_petmail_sequenceenrollment",
    "django_petmail_newslettersubscription",
    "clinic_vaccination",
    "clinic_cart",
    "clinic_order",
    "clinic_appointment",
    "clinic_pet",
    "auth_user",
]


def ensure(scale: float, fresh: bool = False) -> dict[str, Any]:
    n = max(1000, int(1_000_000 * scale))
    with connection.cursor() as cur:
        cur.execute("CREATE TABLE IF NOT EXISTS bench_meta (subscriptions integer NOT NULL)")
        cur.execute("SELECT subscriptions FROM bench_meta")
        row = cur.fetchone()
        if row and row[0] == n and not fresh:
            return _info(cur)
        started = time.perf_counter()
        print(f"generating benchmark data for {n:,} owners …", flush=True)
        cur.execute("TRUNCATE " + ", ".join(TABLES) + " RESTART IDENTITY CASCADE")
        _generate(cur, n)
        cur.execute("DELETE FROM bench_meta")
        cur.execute("INSERT INTO bench_meta VALUES (%s)", [n])
        cur.execute("VACUUM ANALYZE")
        print(f"generated in {time.perf_counter() - started:.0f}s", flush=True)
        return _info(cur)


def _info(cur: Any) -> dict[str, Any]:
    counts = {}
    for table, label in [
        ("django_petmail_newslettersubscription", "subscriptions"),
        ("clinic_pet", "pets"),
        ("clinic_appointment", "appointments"),
        ("clinic_order", "orders"),
    ]:
        cur.execute(f"SELECT count(*) FROM {table}")
        counts[label] = cur.fetchone()[0]
    return counts


def _generate(cur: Any, n: int) -> None:
    cur.execute(
        """
        INSERT INTO auth_user (id, password, is_superuser, username, first_name, last_name,
                               email, is_staff, is_active, date_joined)
        SELECT g, '!', false, 'owner' || g, 'Nombre' || (g %% 500), 'Apellido',
               'owner' || g || '@bench.example', false, true, now()
        FROM generate_series(1, %(n)s) AS g
        """,
        {"n": n},
    )
    cur.execute("SELECT setval(pg_get_serial_sequence('auth_user', 'id'), %s)", [n])
    cur.execute(
        """
        INSERT INTO django_petmail_newslettersubscription
            (id, owner_id, email, email_hash, first_name, status, frequency, topics, language,
             timezone, is_paused, source, consent_form, user_agent, subscribed_at, updated_at,
             confirmed_at, unsubscribe_reason, unsubscribe_source, soft_bounce_count)
        SELECT g, g, 'owner' || g || '@bench.example',
               encode(sha256(convert_to('owner' || g || '@bench.example', 'UTF8')), 'hex'),
               'Nombre', CASE WHEN g %% 10 = 0 THEN 'unsubscribed' ELSE 'active' END,
               (ARRAY['weekly', 'weekly', 'monthly', 'important_only'])[1 + g %% 4],
               '["news", "promotions"]'::jsonb, CASE WHEN g %% 7 = 0 THEN 'en' ELSE 'es' END,
               '', false, 'website', 'bench', '', now() - (g %% 900) * interval '1 day',
               now(), now(), '', '', 0
        FROM generate_series(1, %(n)s) AS g
        """,
        {"n": n},
    )
    cur.execute(
        "SELECT setval(pg_get_serial_sequence('django_petmail_newslettersubscription', 'id'), %s)",
        [n],
    )
    cur.execute(
        """
        INSERT INTO clinic_pet (owner_id, name, species, breed, birthday)
        SELECT 1 + (g::bigint * 7919) %% %(n)s, 'Luna',
               (ARRAY['dog', 'dog', 'cat', 'cat', 'rabbit'])[1 + g %% 5], 'Mestizo',
               date '2012-01-01' + (g %% 4000)
        FROM generate_series(1, %(pets)s) AS g
        """,
        {"n": n, "pets": int(n * 1.5)},
    )
    cur.execute(
        """
        INSERT INTO clinic_appointment (owner_id, pet_id, start, status, reason)
        SELECT 1 + (g::bigint * 104729) %% %(n)s, NULL,
               now() - ((g::bigint * 31) %% 720) * interval '1 day',
               CASE WHEN g %% 10 < 8 THEN 'completed' ELSE 'cancelled' END, ''
        FROM generate_series(1, %(rows)s) AS g
        """,
        {"n": n, "rows": n * 2},
    )
    cur.execute(
        """
        INSERT INTO clinic_order (owner_id, status, total, created)
        SELECT 1 + (g::bigint * 15485863) %% %(n)s,
               CASE WHEN g %% 10 < 9 THEN 'completed' ELSE 'refunded' END,
               ((g::bigint * 2654435761) %% 150000) / 100.0, now()
        FROM generate_series(1, %(rows)s) AS g
        """,
        {"n": n, "rows": n * 2},
    )
