"""Celery tasks (the ``celery`` extra). They take ids, read settings when they run, and are
safe to run twice. Names are explicit so schedules and monitoring survive refactors."""

from __future__ import annotations

from typing import Any

from celery import shared_task


@shared_task(name="django_petmail.tasks.update_segment_counts", ignore_result=True)
def update_segment_counts(segment_ids: list[int] | None = None) -> dict[str, Any]:
    """Refresh ``member_count``/``last_calculated`` of active segments (or of ``segment_ids``).
    Run it periodically with django-celery-beat (``manage.py petmail_schedule``)."""
    from .models import CustomerSegment
    from .segments.service import refresh_counts

    segments = CustomerSegment.objects.filter(is_active=True)
    if segment_ids is not None:
        segments = segments.filter(pk__in=[int(pk) for pk in segment_ids])
    counts = refresh_counts(segments)
    return {"refreshed": len(counts), "invalid": sorted(k for k, v in counts.items() if v is None)}
