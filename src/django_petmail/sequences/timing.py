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
    earliest = base + delay
    if send_time is None:
        return earliest
    tz = zone(zone_name) or timezone.get_current_timezone()
    local = earliest.astimezone(tz)
    candidate = datetime.combine(local.date(), send_time, tzinfo=tz)
    if candidate < local:
        candidate = datetime.combine(local.date() + timedelta(days=1), send_time, tzinfo=tz)
    return candidate.astimezone(earliest.tzinfo)
