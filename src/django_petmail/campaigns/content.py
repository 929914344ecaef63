"""What a campaign says: content checks, previews with a sample subscriber, test sends."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.validators import validate_email
from django.utils.translation import gettext

from ..adapter import get_adapter
from ..exceptions import RuleValidationError, TemplateError
from ..models import ABVariant, EmailCampaign, NewsletterSubscription
from ..rendering import build_contexts
from ..rendering.compose import STANDARD_TOKENS, CompiledContent, campaign_parts, compile_content
from ..rendering.sandbox import compile_template
from ..segments.service import rules_q
from ..sending.dispatch import recipient_context
from ..sending.fanout import audience


def topic_error(topic: str) -> str | None:
    """Why ``topic`` cannot be a campaign's topic (``None`` when it can): it must be one of
    the configured topics, or empty for every subscriber. Shared by the admin and the API."""
    if not topic:
        return None
    known = get_adapter().get_topics()
    if topic in known:
        return None
    return gettext("'%(topic)s' is not a configured topic; choose one of: %(known)s.") % {
        "topic": topic,
        "known": ", ".join(known),
    }


def content_errors(campaign: EmailCampaign) -> dict[str, list[str]]:
    """Field → problems that stop this campaign from being sent (empty when ready)."""
    errors: dict[str, list[str]] = {}
    unknown_topic = topic_error(campaign.topic)
    if unknown_topic:
        errors["topic"] = [unknown_topic]
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
            compile_template(source, html=html_field)
        except TemplateError as exc:
            errors.setdefault(name, []).append(str(exc))
    if campaign.segment_id and campaign.segment is not None:
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


def compiled(campaign: EmailCampaign, variant: str = ABVariant.A) -> CompiledContent:
    return compile_content(**campaign_parts(campaign, variant))


def unknown_tokens(campaign: EmailCampaign, known: set[str] | None = None) -> list[str]:
    """Names the content uses that no context provides (they would render empty)."""
    names = compiled(campaign).variables
    if campaign.is_ab_test:
        names |= compiled(campaign, ABVariant.B).variables
    allowed = set(STANDARD_TOKENS) | {"language", "preview_text"} | (known or set())
    return sorted(names - allowed)


def sample_context(
    campaign: EmailCampaign, subscription: Any = None, *, live_links: bool = True
) -> dict[str, Any]:
    """Context for previews and test sends: a chosen subscriber, else the first one the
    campaign would reach, else a fictional one built from the fallbacks.

    ``live_links=False`` replaces the personal links with inert ones: a tester clicking
    "unsubscribe" in a test send must not unsubscribe the sample subscriber.
    """
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
    variant: str = ABVariant.A,
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


def send_test(campaign: EmailCampaign, emails: list[str], variant: str = ABVariant.A) -> int:
    """Send the rendered campaign (sample context) to ``emails``; no sends are recorded."""
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
