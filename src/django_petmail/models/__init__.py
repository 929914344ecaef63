"""Models, one module per concept; import from here."""

from .campaigns import (
    AB_FIELDS,
    AB_SETTINGS,
    CAMPAIGN_TRANSITIONS,
    COUNTER_FIELDS,
    ABVariant,
    ABWinnerMetric,
    CampaignStatus,
    EmailCampaign,
)
from .segments import CustomerSegment, SegmentMembership
from .sends import SEND_PROGRESS, SEND_TERMINAL, EmailEvent, EmailSend, EventType, SendStatus
from .sequences import (
    AutomatedSequence,
    EnrollmentStatus,
    SequenceEnrollment,
    SequenceStep,
    TriggerType,
)
from .subscriptions import (
    ConsentEvent,
    ConsentEventType,
    Frequency,
    NewsletterSubscription,
    SubscriptionSource,
    SubscriptionStatus,
    Suppression,
    SuppressionReason,
    UnsubscribeSource,
    email_hash,
    normalize_email,
)
from .templates import EmailTemplate, TemplateType

__all__ = [
    "AB_FIELDS",
    "AB_SETTINGS",
    "CAMPAIGN_TRANSITIONS",
    "COUNTER_FIELDS",
    "SEND_PROGRESS",
    "SEND_TERMINAL",
    "ABVariant",
    "ABWinnerMetric",
    "AutomatedSequence",
    "CampaignStatus",
    "ConsentEvent",
    "ConsentEventType",
    "CustomerSegment",
    "EmailCampaign",
    "EmailEvent",
    "EmailSend",
    "EmailTemplate",
    "EnrollmentStatus",
    "EventType",
    "Frequency",
    "NewsletterSubscription",
    "SegmentMembership",
    "SendStatus",
    "SequenceEnrollment",
    "SequenceStep",
    "SubscriptionSource",
    "SubscriptionStatus",
    "Suppression",
    "SuppressionReason",
    "TemplateType",
    "TriggerType",
    "UnsubscribeSource",
    "email_hash",
    "normalize_email",
]
