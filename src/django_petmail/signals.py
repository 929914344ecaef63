"""Signals the package sends. Each comment lists the keyword arguments receivers get.

Receivers should accept ``**kwargs``; new arguments may be added in minor releases.
"""

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

#: A campaign moved between states. sender=EmailCampaign, campaign, previous, current
campaign_state_changed = Signal()

#: An email event was stored (once per ESP event id). sender=EmailEvent, event, send
email_event_recorded = Signal()
