"""Sends, events and consent history are ledgers: the admin lists and shows them, and offers
no way to add, change or delete them (those would bypass the state machines)."""

import pytest
from django.urls import reverse

from django_petmail.models import ConsentEvent
from tests.factories import EventFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db

MODELS = ["emailsend", "emailevent", "consentevent"]


@pytest.fixture
def rows():
    event = EventFactory()
    consent = ConsentEvent.objects.create(
        subscription=SubscriptionFactory(), event="subscribed", source="admin"
    )
    return {"emailsend": event.send, "emailevent": event, "consentevent": consent}


@pytest.mark.parametrize("model", MODELS)
def test_list_has_no_add_button_and_no_delete_action(admin_client, rows, model):
    response = admin_client.get(reverse(f"admin:django_petmail_{model}_changelist"))
    assert response.status_code == 200
    page = response.content.decode()
    assert reverse(f"admin:django_petmail_{model}_add") not in page
    assert "delete_selected" not in page


@pytest.mark.parametrize("model", MODELS)
def test_add_is_forbidden(admin_client, model):
    assert admin_client.get(reverse(f"admin:django_petmail_{model}_add")).status_code == 403


@pytest.mark.parametrize("model", MODELS)
def test_the_page_of_a_row_is_read_only(admin_client, rows, model):
    obj = rows[model]
    url = reverse(f"admin:django_petmail_{model}_change", args=[obj.pk])
    response = admin_client.get(url)
    assert response.status_code == 200
    assert not response.context["has_change_permission"]
    assert admin_client.post(url, {}).status_code == 403
    delete = reverse(f"admin:django_petmail_{model}_delete", args=[obj.pk])
    assert admin_client.post(delete, {"post": "yes"}).status_code == 403
    assert type(obj).objects.filter(pk=obj.pk).exists()


def test_a_send_shows_its_events(admin_client, rows):
    send = rows["emailsend"]
    page = admin_client.get(reverse("admin:django_petmail_emailsend_change", args=[send.pk]))
    assert rows["emailevent"].esp_event_id in page.content.decode()
