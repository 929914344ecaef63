"""The CSV import and export through the admin and the API: reports, 413, escaping, access."""

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from django.urls import reverse

from django_petmail import tasks
from django_petmail.models import NewsletterSubscription
from django_petmail.subscribers_csv import escape_cell
from tests.factories import SubscriptionFactory

pytestmark = pytest.mark.django_db

IMPORT_URL = "/petmail/api/imports/subscriptions/"
EXPORT_URL = "/petmail/api/exports/subscriptions/"
BAD_ROW = b"email,first_name\nana@example.com,Ana\nnope,Bad\nluis@example.com,Luis\n"


def upload(content=BAD_ROW):
    return SimpleUploadedFile("subs.csv", content, content_type="text/csv")


def small_limit():
    return override_settings(PETMAIL={**settings.PETMAIL, "IMPORT_MAX_BYTES": 1024})


def test_api_import_reports_the_bad_row_and_imports_the_others(api):
    response = api.post(IMPORT_URL, {"file": upload(), "consent_basis": "contract"})
    assert response.status_code == 202, response.content
    state = api.get(response.json()["url"]).json()
    assert state["status"] == "done"
    assert (state["created"], state["error_count"]) == (2, 1)
    assert state["errors"][0]["row"] == 3 and state["errors"][0]["column"] == "email"
    assert NewsletterSubscription.objects.count() == 2


def test_api_import_without_a_file_names_the_field(api):
    response = api.post(IMPORT_URL, {"consent_basis": "x"})
    assert response.status_code == 400 and "file" in response.json()


def test_api_unknown_import_is_404(api):
    assert api.get(IMPORT_URL + "nope/").status_code == 404


@pytest.mark.parametrize("size", [2048, 200 * 1024])  # checked from the file, and from the body
def test_an_oversized_upload_is_413(api, size):
    with small_limit():
        response = api.post(IMPORT_URL, {"file": upload(b"email\n" + b"a" * size)})
    assert response.status_code == 413
    assert "file" in response.json()
    assert not NewsletterSubscription.objects.exists()


def test_non_staff_and_anonymous_are_refused(non_staff_api, anonymous_api, admin_client, client):
    for api_client in (non_staff_api, anonymous_api):
        assert api_client.post(IMPORT_URL, {"file": upload()}).status_code in (401, 403)
        assert api_client.get(EXPORT_URL).status_code in (401, 403)
    page = reverse("admin:django_petmail_subscription_import")
    assert client.get(page).status_code == 302  # to the admin login
    assert not NewsletterSubscription.objects.exists()


def test_export_escapes_formula_cells_and_streams(api):
    SubscriptionFactory(email="a@example.com", first_name="=HYPERLINK(1)")
    SubscriptionFactory(email="b@example.com", first_name="+1", status="pending")
    response = api.get(EXPORT_URL)
    assert response.status_code == 200 and response.streaming
    text = b"".join(response.streaming_content).decode()
    assert text.splitlines()[0].startswith("email,first_name,status")
    assert "'=HYPERLINK(1)" in text and "'+1" in text
    pending = b"".join(api.get(EXPORT_URL, {"status": "pending"}).streaming_content).decode()
    assert "b@example.com" in pending and "a@example.com" not in pending
    assert api.get(EXPORT_URL, {"status": "gone"}).status_code == 400


@pytest.mark.parametrize("value", ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"])
def test_escape_cell_prefixes_formula_starts(value):
    assert escape_cell(value) == "'" + value


def test_escape_cell_leaves_plain_values_and_formats_lists():
    assert escape_cell("Ana") == "Ana"
    assert escape_cell(None) == ""
    assert escape_cell(["news", "pet_tips"]) == "news;pet_tips"


def test_admin_import_page_uploads_and_shows_the_report(admin_client):
    page = reverse("admin:django_petmail_subscription_import")
    assert admin_client.get(page).status_code == 200
    response = admin_client.post(page, {"file": upload(), "consent_basis": ""}, follow=True)
    assert response.status_code == 200
    body = response.content.decode()
    assert "nope" not in body and "<td>3</td>" in body and "<td>email</td>" in body
    assert NewsletterSubscription.objects.filter(status="pending").count() == 2
    changelist = admin_client.get(reverse("admin:django_petmail_newslettersubscription_changelist"))
    assert page in changelist.content.decode()


def test_admin_import_of_an_oversized_file_is_413(admin_client):
    page = reverse("admin:django_petmail_subscription_import")
    with small_limit():
        response = admin_client.post(page, {"file": upload(b"email\n" + b"a" * 2048)})
    assert response.status_code == 413
    with small_limit():
        response = admin_client.post(page, {"file": upload(b"email\n" + b"a" * 200 * 1024)})
    assert response.status_code == 413


def test_admin_import_form_errors_stay_on_the_page(admin_client):
    response = admin_client.post(reverse("admin:django_petmail_subscription_import"), {})
    assert response.status_code == 200 and response.context["form"].errors


def test_admin_status_of_an_unknown_import_is_404(admin_client):
    url = reverse("admin:django_petmail_subscription_import_status", args=["nope"])
    assert admin_client.get(url).status_code == 404


def test_a_broker_that_cannot_be_reached_fails_the_import_with_a_message(admin_client, monkeypatch):
    def down(*args, **kwargs):
        raise OSError("connection refused")

    monkeypatch.setattr(tasks.import_subscribers, "delay", down)
    response = admin_client.post(
        reverse("admin:django_petmail_subscription_import"), {"file": upload()}, follow=True
    )
    assert response.status_code == 200
    assert response.context["state"]["status"] == "failed"
    assert not NewsletterSubscription.objects.exists()


def test_admin_export_action_streams_csv(admin_client):
    sub = SubscriptionFactory(first_name="@evil")
    response = admin_client.post(
        reverse("admin:django_petmail_newslettersubscription_changelist"),
        {"action": "export_csv_selected", "_selected_action": [sub.pk]},
    )
    assert response.status_code == 200 and response.streaming
    assert "'@evil" in b"".join(response.streaming_content).decode()


def test_staff_without_the_add_permission_cannot_import(client, django_user_model):
    user = django_user_model.objects.create_user(username="clerk", password="x", is_staff=True)
    client.force_login(user)
    assert client.get(reverse("admin:django_petmail_subscription_import")).status_code == 403
    status = reverse("admin:django_petmail_subscription_import_status", args=["x"])
    assert client.get(status).status_code == 403
