"""A step's templates see the data its trigger was fired with, in the message and on the
"view online" page."""

from urllib.parse import urlsplit

import pytest
from django.core import mail
from django.utils import timezone

import django_petmail
from django_petmail.links import view_online_url
from django_petmail.models import AutomatedSequence, EmailSend, SequenceStep
from django_petmail.sequences.progression import process
from tests.factories import SubscriptionFactory

pytestmark = pytest.mark.django_db


def test_trigger_data_reaches_the_step_and_its_online_page(client):
    sequence = AutomatedSequence.objects.create(name="thanks", trigger_type="purchase")
    SequenceStep.objects.create(
        sequence=sequence,
        step_number=1,
        subject="Gracias por tu compra de {{ trigger.amount }} €",
        html_content="<p>Pedido {{ trigger.order }}</p>",
    )
    subscription = SubscriptionFactory()
    django_petmail.trigger("purchase", subscription, amount=42.5, order=7)

    process(now=timezone.now())

    [message] = mail.outbox
    assert message.subject == "Gracias por tu compra de 42.5 €"
    assert "Pedido 7" in message.alternatives[0][0]
    send = EmailSend.objects.get(sequence_step__sequence=sequence)
    page = client.get(urlsplit(view_online_url(subscription, send.pk)).path)
    assert page.status_code == 200
    assert "Pedido 7" in page.content.decode()
