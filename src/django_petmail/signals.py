"""Signals the package sends. Each comment lists the keyword arguments receivers get.

Receivers should accept ``**kwargs``; new arguments may be added in minor releases.
"""

from typing import Any

from django.db import transaction
from django.dispatch import Signal

#: A subscription was requested (pending double opt-in).
#: sender=NewsletterSubscription, subscription, request (or None)
subscribed = Signal()

#: A subscription was confirmed through its double opt-in link.
#: sender=NewsletterSubscription, subscription, request (or None)
confirmed = Signal()

#: A subscriber changed preferences in the preference center.
#: sender=NewsletterSubscription, subscription, changes (dict field → (old, new))
preferences_changed = Signal()

#: A subscriber left. sender=NewsletterSubscription, subscription, source, reason
unsubscribed = Signal()

#: A subscriber's personal data was erased (GDPR). sender=NewsletterSubscription, email_hash
erased = Signal()

#: A campaign moved between states (sent when the change commits).
#: sender=EmailCampaign, campaign, previous, current
campaign_state_changed = Signal()

#: Sends are waiting for workers (sent when the transaction that queued them commits); the
#: package's receiver starts the workers. sender=EmailCampaign or SequenceStep, pk
sends_queued = Signal()

#: Send it to fire an event trigger; the same as calling :func:`django_petmail.trigger`.
#: sender=anything, name (a registered event trigger), recipient (an owner or a
#: subscription), data (a dict of JSON values, optional)
trigger_fired = Signal()

#: Recipients entered a sequence. sender=AutomatedSequence, sequence, count, trigger
enrolled = Signal()

#: An enrollment reached its sequence's goal. sender=SequenceEnrollment, enrollment, trigger
converted = Signal()

#: An email event was stored (once per ESP event id). sender=EmailEvent, event, send
email_event_recorded = Signal()

#: A conversion was recorded (sent when it commits; once per reference).
#: sender=Conversion, conversion, send (the send it is attributed to, or None)
conversion_recorded = Signal()

#: A conversion was refunded (sent when it commits; once per reference).
#: sender=Conversion, conversion, send (the send it was attributed to, or None)
conversion_refunded = Signal()
#: A mailing's bounce or complaint rate reached its threshold (``REPUTATION_*`` settings;
#: sent when the event that crossed it commits). The package's receiver pauses the mailing.
#: sender=EmailCampaign or AutomatedSequence, pk, metric ("bounce_rate" or
#: "complaint_rate"), rate and threshold (percentages), sent (the rate's denominator)
reputation_threshold_reached = Signal()

#: The reputation guard paused a sending campaign or an active sequence (sent on commit,
#: once per pause). sender=EmailCampaign or AutomatedSequence, obj (the campaign or
#: sequence, its ``paused_reason`` set), metric, rate, threshold
reputation_paused = Signal()


def send_on_commit(signal: Signal, sender: Any, **kwargs: Any) -> None:
    """Send ``signal`` when the current transaction commits (at once outside one), so no
    receiver ever acts on a change that is rolled back."""
    _after_commit(lambda: signal.send(sender, **kwargs))


def _after_commit(fn: Any) -> None:
    transaction.on_commit(fn)
