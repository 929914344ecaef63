"""The campaign lifecycle: draft → scheduled → sending ⇄ paused → sent, and cancelled.

Every transition is a conditional ``UPDATE … WHERE status = <expected>``: two admins (or a
beat tick and an admin) starting the same campaign start it once; the loser gets
:class:`~django_petmail.exceptions.InvalidTransition`.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext

from . import signals
from .exceptions import InvalidTransition, RuleValidationError
from .models import (
    CAMPAIGN_TRANSITIONS,
    CampaignStatus,
    EmailCampaign,
    EmailSend,
    SendStatus,
)
from .rendering.compose import STANDARD_TOKENS, CompiledContent, campaign_parts, compile_content
from .rendering.sandbox import TemplateError

OPEN_STATES = (SendStatus.PENDING, SendStatus.SENDING, SendStatus.HELD)


def transition(campaign: EmailCampaign, target: str, **fields: Any) -> None:
    """Move ``campaign`` to ``target`` if the state machine allows it and nobody moved it
    first; refreshes the instance and sends ``campaign_state_changed``."""
    current, target = str(campaign.status), str(target)  # plain values in messages
    if target not in CAMPAIGN_TRANSITIONS.get(current, frozenset()):
        raise InvalidTransition("campaign", current, target)
    now = timezone.now()
    updated = EmailCampaign.objects.filter(pk=campaign.pk, status=current).update(
        status=target, updated_at=now, **fields
    )
    if not updated:
        campaign.refresh_from_db()
        raise InvalidTransition("campaign", campaign.status, target)
    campaign.refresh_from_db()
    signals.campaign_state_changed.send(
        EmailCampaign, campaign=campaign, previous=current, current=target
    )


def content_errors(campaign: EmailCampaign) -> dict[str, list[str]]:
    """Field → problems that stop this campaign from being sent (empty when ready)."""
    errors: dict[str, list[str]] = {}
    html = campaign.html_content or getattr(campaign.template, "html_content", "")
    if not (campaign.subject or "").strip():
        errors.setdefault("subject", []).append(gettext("A campaign needs a subject."))
    if not (html or "").strip():
        errors.setdefault("html_content", []).append(gettext("A campaign needs content."))
    checks = [
        ("subject", campaign.subject, False),
        ("preview_text", campaign.preview_text, False),
        ("html_content", html, True),
        ("text_content", campaign.text_content, False),
    ]
    if campaign.is_ab_test:
        checks += [
            ("ab_subject_b", campaign.ab_subject_b, False),
            ("ab_html_content_b", campaign.ab_html_content_b, True),
        ]
        if not campaign.ab_subject_b and not campaign.ab_html_content_b:
            errors.setdefault("ab_subject_b", []).append(
                gettext("An A/B test needs a subject B or a content B.")
            )
        if not 1 <= campaign.ab_test_percent <= 100:
            errors.setdefault("ab_test_percent", []).append(
                gettext("Use a percentage from 1 to 100.")
            )
    for name, source, html_field in checks:
        if not source:
            continue
        try:
            from .rendering.sandbox import compile_template

            compile_template(source, html=html_field)
        except TemplateError as exc:
            errors.setdefault(name, []).append(str(exc))
    if campaign.segment_id and campaign.segment is not None:
        from .segments.service import rules_q

        try:
            rules_q(campaign.segment.rules)
        except RuleValidationError as exc:
            errors.setdefault("segment", []).append(
                gettext("The segment's rules are invalid: %(error)s") % {"error": exc}
            )
    return errors


def ensure_ready(campaign: EmailCampaign) -> None:
    errors = content_errors(campaign)
    if errors:
        raise ValidationError(errors)


def schedule(campaign: EmailCampaign, when: datetime) -> None:
    """Schedule for ``when`` (must be in the future); the beat task starts it then."""
    if timezone.is_naive(when):
        raise ValidationError({"scheduled_at": ["Give a time zone-aware date and time."]})
    if when <= timezone.now():
        raise ValidationError({"scheduled_at": ["The scheduled time is in the past."]})
    ensure_ready(campaign)
    if campaign.status == CampaignStatus.SCHEDULED:
        EmailCampaign.objects.filter(pk=campaign.pk, status=CampaignStatus.SCHEDULED).update(
            scheduled_at=when, updated_at=timezone.now()
        )
        campaign.refresh_from_db()
        return
    transition(campaign, CampaignStatus.SCHEDULED, scheduled_at=when)


def start(campaign: EmailCampaign, *, enqueue: bool = True) -> int:
    """Fan out and begin sending. Returns the number of recipients.

    The state change and the fan-out commit together: a campaign is never ``sending``
    without its sends, nor has sends while still a draft.
    """
    if campaign.status not in (CampaignStatus.DRAFT, CampaignStatus.SCHEDULED):
        # paused → sending is resume(): a second fan-out (and A/B cohort) must not happen
        raise InvalidTransition("campaign", campaign.status, CampaignStatus.SENDING.value)
    ensure_ready(campaign)
    from .sending.ab import assign_cohort
    from .sending.fanout import fan_out

    try:
        with transaction.atomic():
            transition(campaign, CampaignStatus.SENDING, started_at=timezone.now())
            fan_out(campaign)
            count = EmailSend.objects.filter(campaign=campaign).count()
            EmailCampaign.objects.filter(pk=campaign.pk).update(recipient_count=count)
            if campaign.is_ab_test:
                assign_cohort(campaign)
    except RuleValidationError as exc:  # the segment changed since ensure_ready()
        campaign.refresh_from_db()
        raise ValidationError(
            {"segment": [gettext("The segment's rules are invalid: %(error)s") % {"error": exc}]}
        ) from exc
    campaign.refresh_from_db()
    if enqueue:
        enqueue_sending(campaign)
    return count


def pause(campaign: EmailCampaign) -> None:
    """Stop claiming new batches; batches already claimed finish."""
    transition(campaign, CampaignStatus.PAUSED)


def resume(campaign: EmailCampaign, *, enqueue: bool = True) -> None:
    if campaign.status != CampaignStatus.PAUSED:  # draft → sending is start(), with fan-out
        raise InvalidTransition("campaign", campaign.status, CampaignStatus.SENDING.value)
    transition(campaign, CampaignStatus.SENDING)
    if enqueue:
        enqueue_sending(campaign)


def cancel(campaign: EmailCampaign) -> int:
    """Cancel a draft, scheduled or paused campaign; unsent sends become ``cancelled``."""
    with transaction.atomic():
        transition(campaign, CampaignStatus.CANCELLED, completed_at=timezone.now())
        return EmailSend.objects.filter(
            campaign=campaign, status__in=[SendStatus.PENDING, SendStatus.HELD]
        ).update(status=SendStatus.CANCELLED, updated_at=timezone.now())


def maybe_complete(campaign: EmailCampaign) -> bool:
    """Mark the campaign ``sent`` once nothing is pending, held or in flight."""
    if EmailSend.objects.filter(campaign=campaign, status__in=OPEN_STATES).exists():
        return False
    updated = EmailCampaign.objects.filter(pk=campaign.pk, status=CampaignStatus.SENDING).update(
        status=CampaignStatus.SENT, completed_at=timezone.now(), updated_at=timezone.now()
    )
    if updated:
        campaign.refresh_from_db()
        signals.campaign_state_changed.send(
            EmailCampaign,
            campaign=campaign,
            previous=CampaignStatus.SENDING,
            current=CampaignStatus.SENT,
        )
    return bool(updated)


def enqueue_sending(campaign: EmailCampaign) -> None:
    """Start ``SEND_CONCURRENCY`` batch workers for the campaign (Celery when installed),
    once the surrounding transaction commits.

    A worker that started before the commit (an admin action, ``ATOMIC_REQUESTS``) would
    find the campaign still a draft, or its sends not there yet, and stop: the campaign
    would wait for ``resume_stalled_campaigns``. Outside a transaction this runs at once.
    """
    campaign_id = campaign.pk
    _after_commit(lambda: _start_workers(campaign_id))


def _after_commit(fn: Any) -> None:
    transaction.on_commit(fn)


def _start_workers(campaign_id: int) -> None:
    from .conf import petmail_settings

    try:
        from .tasks import send_campaign_batch
    except ImportError:  # pragma: no cover - without the celery extra, send in-process
        from .sending.worker import drain

        drain(campaign_id)
        return
    for _ in range(max(1, int(petmail_settings.SEND_CONCURRENCY))):
        send_campaign_batch.delay(campaign_id)


def progress(campaign: EmailCampaign) -> dict[str, Any]:
    """Counts by state, the current rate (last minute) and an estimated finish."""
    by_status = dict(
        EmailSend.objects.filter(campaign=campaign).values_list("status").annotate(n=Count("pk"))
    )
    now = timezone.now()
    recent = EmailSend.objects.filter(
        campaign=campaign, sent_at__gte=now - timedelta(minutes=1)
    ).count()
    remaining = sum(by_status.get(s, 0) for s in OPEN_STATES)
    rate = recent / 60
    done = campaign.recipient_count - remaining
    return {
        "status": campaign.status,
        "recipients": campaign.recipient_count,
        "done": done,
        "remaining": remaining,
        "by_status": by_status,
        "percent": round(100 * done / campaign.recipient_count, 1)
        if campaign.recipient_count
        else 0.0,
        "rate_per_second": round(rate, 2),
        "eta": (now + timedelta(seconds=remaining / rate)).isoformat()
        if rate and remaining
        else None,
    }


def compiled(campaign: EmailCampaign, variant: str = "A") -> CompiledContent:
    return compile_content(**campaign_parts(campaign, variant))


def unknown_tokens(campaign: EmailCampaign, known: set[str] | None = None) -> list[str]:
    """Names the content uses that no context provides (they would render empty)."""
    names = compiled(campaign).variables
    if campaign.is_ab_test:
        names |= compiled(campaign, "B").variables
    allowed = set(STANDARD_TOKENS) | {"language", "preview_text"} | (known or set())
    return sorted(names - allowed)


def due_campaigns(now: datetime | None = None) -> list[int]:
    now = now or timezone.now()
    return list(
        EmailCampaign.objects.filter(status=CampaignStatus.SCHEDULED, scheduled_at__lte=now)
        .order_by("scheduled_at")
        .values_list("pk", flat=True)
    )


def ab_tests_ready(now: datetime | None = None) -> list[int]:
    """Sending A/B campaigns past their wait window whose test cohort has been sent."""
    now = now or timezone.now()
    ids = []
    candidates = EmailCampaign.objects.filter(
        status=CampaignStatus.SENDING, is_ab_test=True, ab_winner=""
    ).annotate(
        open_cohort=Count(
            "sends",
            filter=Q(
                sends__ab_variant__in=["A", "B"],
                sends__status__in=[SendStatus.PENDING, SendStatus.SENDING],
            ),
        )
    )
    for campaign in candidates:
        if (
            campaign.started_at
            and campaign.started_at + timedelta(hours=campaign.ab_wait_hours) <= now
            and campaign.open_cohort == 0
        ):
            ids.append(campaign.pk)
    return ids


def sample_context(
    campaign: EmailCampaign, subscription: Any = None, *, live_links: bool = True
) -> dict[str, Any]:
    """Context for previews and test sends: a chosen subscriber, else the first one the
    campaign would reach, else a fictional one built from the fallbacks.

    ``live_links=False`` replaces the personal links with inert ones: a tester clicking
    "unsubscribe" in a test send must not unsubscribe the sample subscriber.
    """
    from .adapter import get_adapter
    from .models import NewsletterSubscription
    from .rendering import build_contexts
    from .sending.dispatch import recipient_context
    from .sending.fanout import audience

    if subscription is None:
        subscription = audience(campaign).select_related("owner").order_by("pk").first()
    if subscription is None:  # the adapter's fallbacks fill every standard token
        subscription = NewsletterSubscription(pk=0, email="preview@example.com", language="es")
    base = build_contexts([subscription]).get(subscription.pk, {})
    context = recipient_context(subscription, None, base)
    if not live_links:
        inert = get_adapter().get_site_url() + "/#petmail-test-send"
        context.update(unsubscribe_url=inert, preferences_url=inert, view_online_url=inert)
    return context


def preview(
    campaign: EmailCampaign,
    subscription: Any = None,
    variant: str = "A",
    *,
    live_links: bool = True,
) -> dict[str, Any]:
    """The rendered message for one subscriber, plus tokens the content uses that nothing
    provides (they render empty)."""
    content = compiled(campaign, variant)
    context = sample_context(campaign, subscription, live_links=live_links)
    missing: set[str] = set()
    rendered = content.render(context, missing)
    return {
        "subject": rendered.subject,
        "preview_text": rendered.preview,
        "html": rendered.html,
        "text": rendered.text,
        "unknown_tokens": sorted(missing),
    }


def send_test(campaign: EmailCampaign, emails: list[str], variant: str = "A") -> int:
    """Send the rendered campaign (sample context) to ``emails``; no sends are recorded."""
    from django.core.mail import EmailMultiAlternatives, get_connection
    from django.core.validators import validate_email

    from .adapter import get_adapter

    if not emails:
        raise ValidationError({"emails": ["Give at least one address."]})
    if len(emails) > 20:
        raise ValidationError({"emails": ["At most 20 test addresses."]})
    for email in emails:
        try:
            validate_email(email)
        except ValidationError:
            raise ValidationError({"emails": [f"{email!r} is not a valid address."]}) from None
    ensure_ready(campaign)
    rendered = preview(campaign, variant=variant, live_links=False)
    messages = []
    for email in emails:  # one message each: testers do not see each other's addresses
        message = EmailMultiAlternatives(
            subject=f"[TEST] {rendered['subject']}",
            body=rendered["text"],
            from_email=campaign.from_email or get_adapter().get_from_email(),
            to=[email],
        )
        message.attach_alternative(rendered["html"], "text/html")
        messages.append(message)
    return int(get_connection().send_messages(messages) or 0)


def set_winner(campaign: EmailCampaign, winner: str, *, enqueue: bool = True) -> int:
    """Override the A/B decision by hand (before the automatic one); releases the rest."""
    from .sending.ab import decide, release_winner

    if winner not in ("A", "B"):
        raise ValidationError({"winner": ["Choose 'A' or 'B'."]})
    if (
        not campaign.is_ab_test
        or campaign.ab_winner
        or campaign.status not in (CampaignStatus.SENDING, CampaignStatus.PAUSED)
    ):
        raise InvalidTransition("A/B test", campaign.ab_winner or campaign.status, winner)
    result = decide(campaign) | {"winner": winner, "manual": True}
    released = release_winner(campaign, winner, result)
    if enqueue and campaign.status == CampaignStatus.SENDING:
        enqueue_sending(campaign)
    return released


def stalled_campaigns(quiet_seconds: int, now: datetime | None = None) -> list[int]:
    """Sending campaigns with pending sends but no send touched for ``quiet_seconds``.

    Their batch tasks were lost — a broker restart, a worker killed before re-queueing, or
    workers queued before the transaction that started the campaign committed. Found in
    one query; :func:`django_petmail.tasks.resume_stalled_campaigns` queues them again.
    """
    from django.db.models import Exists, OuterRef

    now = now or timezone.now()
    recent = EmailSend.objects.filter(
        campaign=OuterRef("pk"), updated_at__gte=now - timedelta(seconds=quiet_seconds)
    )
    waiting = EmailSend.objects.filter(campaign=OuterRef("pk"), status=SendStatus.PENDING)
    return list(
        EmailCampaign.objects.filter(status=CampaignStatus.SENDING)
        .filter(Exists(waiting))
        .exclude(Exists(recent))
        .values_list("pk", flat=True)
    )
