"""On PostgreSQL, two dispatchers draining one campaign at the same time send every
recipient exactly once: no duplicate, nobody missing (proved from the outbox and the ledger).
"""

import threading

import pytest
from django.core import mail
from django.db import connection, connections
from django.test import override_settings

from django_petmail import campaigns
from django_petmail.models import CampaignStatus, EmailSend, NewsletterSubscription, email_hash
from tests.factories import CampaignFactory

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]

RECIPIENTS = 5000


def test_two_dispatchers_drain_one_campaign_without_duplicates(settings):
    assert connection.vendor == "postgresql"
    NewsletterSubscription.objects.bulk_create(
        [
            NewsletterSubscription(
                email=f"r{i}@example.com",
                email_hash=email_hash(f"r{i}@example.com"),
                status="active",
                topics=["news"],
            )
            for i in range(RECIPIENTS)
        ],
        batch_size=1000,
    )
    campaign = CampaignFactory(subject="Hola {{ first_name }}", html_content="<p>Hola</p>")
    petmail = {**settings.PETMAIL, "BATCH_SIZE": 100, "INLINE_CSS": False}
    with override_settings(PETMAIL=petmail):
        assert campaigns.start(campaign, enqueue=False) == RECIPIENTS
        errors: list[BaseException] = []
        barrier = threading.Barrier(2)

        def dispatcher() -> None:
            try:
                barrier.wait()
                campaigns.deliver(campaign.pk, budget_seconds=600)
            except BaseException as exc:  # reported below
                errors.append(exc)
            finally:
                connections.close_all()

        threads = [threading.Thread(target=dispatcher) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=600)
    assert errors == []
    recipients = [message.to[0] for message in mail.outbox]
    assert len(recipients) == RECIPIENTS
    assert len(set(recipients)) == RECIPIENTS
    ledger = EmailSend.objects.filter(campaign=campaign)
    assert ledger.count() == RECIPIENTS
    assert ledger.filter(status="sent").count() == RECIPIENTS
    assert ledger.values("esp_message_id").distinct().count() == RECIPIENTS
    # both dispatchers did part of the work
    assert ledger.values("claimed_by").distinct().count() == 2
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SENT
    assert campaign.sent_count == RECIPIENTS
