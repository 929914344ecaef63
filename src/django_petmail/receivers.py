"""The package's own signal receivers, connected in ``AppConfig.ready()``.

Services announce what happened (a campaign has sends waiting, a subscription was
confirmed); these receivers act on it. This keeps the one-way flow: services never import
tasks, and the tasks module is the only place that knows Celery.
"""

from __future__ import annotations

import logging
from typing import Any

from django.utils.translation import gettext

from . import campaigns, signals, subscribers_csv
from .campaigns import deliver
from .conf import petmail_settings
from .exceptions import InvalidTransition
from .models import AutomatedSequence, EmailCampaign, NewsletterSubscription, SequenceStep
from .sequences.delivery import deliver_step
from .sequences.enrollment import pause_sequence, trigger
from .tracking import reputation

logger = logging.getLogger(__name__)


def queue_workers(sender: Any, pk: int, **kwargs: Any) -> None:
    """Start workers for a mailing with sends waiting: ``SEND_CONCURRENCY`` for a campaign,
    one for a sequence step (steps are sent as their enrollments come due, a few at a
    time). With ``SEND_IN_PROCESS`` (or without Celery) the sends go out here, in-process.

    When the broker cannot be reached the campaign is paused with the reason (the admin and
    the API show ``paused_reason``); resuming it queues the workers again."""
    try:
        from kombu.exceptions import OperationalError  # the optional celery extra

        from . import tasks
    except ImportError:  # pragma: no cover - without the celery extra, send in-process
        _deliver_in_process(sender, pk)
        return
    if petmail_settings.SEND_IN_PROCESS:
        _deliver_in_process(sender, pk)
        return
    try:
        if sender is EmailCampaign:
            for _ in range(petmail_settings.SEND_CONCURRENCY):
                tasks.send_campaign_batch.delay(pk)
        elif sender is SequenceStep:
            tasks.send_sequence_email.delay(pk)
    except (OperationalError, OSError) as exc:
        _broker_unreachable(sender, pk, exc)


def _deliver_in_process(sender: Any, pk: int) -> None:
    if sender is EmailCampaign:
        deliver(pk)
    elif sender is SequenceStep:
        deliver_step(pk)


def _broker_unreachable(sender: Any, pk: int, exc: Exception) -> None:
    """Pause the campaign saying why; a step waits for ``resume_stalled_campaigns``."""
    why = gettext("The task broker could not be reached (%(error)s); resume when it is back.") % {
        "error": exc
    }
    logger.error("%s %s: workers not queued: %s", sender.__name__, pk, exc)
    campaign = EmailCampaign.objects.filter(pk=pk).first() if sender is EmailCampaign else None
    if campaign is None:
        return
    try:
        campaigns.pause(campaign, reason=why)
    except InvalidTransition:
        return  # paused, finished or cancelled meanwhile


def queue_import(import_id: str) -> bool:
    """Run a stored subscriber CSV import in a Celery worker (in-process when tasks are eager
    or Celery is absent). ``False`` when the broker cannot be reached: the import is marked
    failed with that reason, so the page shows it instead of waiting forever."""
    try:
        from . import tasks  # the optional celery extra
    except ImportError:  # pragma: no cover - without the celery extra, import in-process
        subscribers_csv.run_import(import_id)
        return True
    try:
        tasks.import_subscribers.delay(import_id)
    except Exception:  # kombu's OperationalError and friends: the broker is down
        logger.exception("Could not queue the subscriber import %s", import_id)
        subscribers_csv.fail_import(
            import_id, gettext("The task queue (Celery broker) cannot be reached.")
        )
        return False
    return True


def trigger_signup(sender: Any, subscription: NewsletterSubscription, **kwargs: Any) -> None:
    """The built-in ``signup`` trigger fires when a subscription is confirmed."""
    trigger("signup", subscription)


def fire_trigger(
    sender: Any, name: str, recipient: Any, data: dict[str, Any] | None = None, **kwargs: Any
) -> None:
    """``trigger_fired`` is the signal form of :func:`django_petmail.trigger`."""
    trigger(name, recipient, **(data or {}))


def pause_for_reputation(
    sender: Any, pk: int, metric: str, rate: float, threshold: float, sent: int, **kwargs: Any
) -> None:
    """The reputation guard's action: pause the campaign or sequence, once, saying why."""
    why = reputation.reason(metric, rate, threshold, sent)
    obj: Any
    if sender is EmailCampaign:
        obj = EmailCampaign.objects.filter(pk=pk).first()
        if obj is None:
            return
        try:
            campaigns.pause(obj, reason=why)
        except InvalidTransition:
            return  # paused, finished or cancelled meanwhile
    elif sender is AutomatedSequence:
        obj = AutomatedSequence.objects.filter(pk=pk).first()
        if obj is None or not pause_sequence(obj, reason=why, only_active=True):
            return
    else:
        return
    logger.warning("%s %s paused: %s", sender.__name__, pk, why)
    signals.send_on_commit(
        signals.reputation_paused, sender, obj=obj, metric=metric, rate=rate, threshold=threshold
    )


def connect() -> None:
    signals.sends_queued.connect(queue_workers, dispatch_uid="django_petmail.queue_workers")
    signals.confirmed.connect(trigger_signup, dispatch_uid="django_petmail.trigger_signup")
    signals.trigger_fired.connect(fire_trigger, dispatch_uid="django_petmail.fire_trigger")
    signals.reputation_threshold_reached.connect(
        pause_for_reputation, dispatch_uid="django_petmail.pause_for_reputation"
    )
