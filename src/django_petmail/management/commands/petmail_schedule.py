"""Install django-petmail's periodic tasks in django-celery-beat (idempotent)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

#: task name → (description, minutes between runs)
SCHEDULE: dict[str, tuple[str, int]] = {
    "django_petmail.tasks.update_segment_counts": ("Refresh segment member counts", 60),
    "django_petmail.tasks.start_due_campaigns": ("Start scheduled campaigns", 1),
    "django_petmail.tasks.pick_ab_winners": ("Pick A/B test winners", 5),
    "django_petmail.tasks.reap_stuck_sends": ("Report sends stuck in flight", 10),
    "django_petmail.tasks.resume_stalled_campaigns": ("Re-queue stalled campaigns", 5),
    "django_petmail.tasks.process_automated_sequences": ("Run automated sequences", 1),
}


class Command(BaseCommand):
    help = "Create or update the periodic tasks django-petmail needs (django-celery-beat)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--disable", action="store_true", help="Disable them instead.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            from django_celery_beat.models import IntervalSchedule, PeriodicTask
        except ImportError as exc:  # pragma: no cover - the celery extra is missing
            raise CommandError(
                "django-celery-beat is not installed: pip install 'django-petmail[celery]'."
            ) from exc
        for task, (description, minutes) in SCHEDULE.items():
            interval, _ = IntervalSchedule.objects.get_or_create(
                every=minutes, period=IntervalSchedule.MINUTES
            )
            _, created = PeriodicTask.objects.update_or_create(
                name=f"petmail: {description}",
                defaults={"task": task, "interval": interval, "enabled": not options["disable"]},
            )
            state = "disabled" if options["disable"] else "enabled"
            self.stdout.write(
                f"{'created' if created else 'updated'} {task} every {minutes} min ({state})"
            )
