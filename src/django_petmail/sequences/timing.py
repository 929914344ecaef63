"""When a step is due: a delay after the previous step, optionally at a local time of day."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.utils import timezone


def zone(name: str) -> ZoneInfo | None:
    """The time zone called ``name``; ``None`` for an empty or unknown name."""
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def due_at(base: datetime, delay: timedelta, send_time: time | None, zone_name: str) -> datetime:
    """``base + delay``, moved to the first ``send_time`` at or after it in the subscriber's
    time zone (the site's when the subscriber has none, or an unknown one).

    Wall-clock arithmetic through :mod:`zoneinfo`: 09:00 stays 09:00 across a DST change. A
    ``send_time`` that does not exist that day (inside the spring-forward gap) is sent at
    the same offset before the change, i.e. an hour later on the wall clock.
    """
    if send_time is None:
        return base + delay
    tz = zone(zone_name) or timezone.get_current_timezone()
    # The delay is added on the local wall clock (a day is a calendar day, 23 or 25 hours
    # long across a DST change): adding it in UTC would put "a day after 09:00 CET" at
    # 10:00 CEST, past 09:00, and the step would wait a whole extra day.
    local = base.astimezone(tz) + delay
    candidate = datetime.combine(local.date(), send_time, tzinfo=tz)
    if candidate < local:
        candidate = datetime.combine(local.date() + timedelta(days=1), send_time, tzinfo=tz)
    return candidate.astimezone(base.tzinfo)
