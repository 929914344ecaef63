"""`make demo` ends by saying how to open the clinic; the example project's mail and links
work under `runserver`."""

from io import StringIO
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from clinic.demo import how_to_open
from petclinic import settings as clinic_settings
from petclinic.settings import runserver_site_url


@pytest.mark.django_db(transaction=True)
def test_the_demo_ends_with_how_to_open_the_site_and_its_admin_user():
    out = StringIO()
    call_command("demo", "--owners", "120", "--create-admin", stdout=out, stderr=StringIO())
    text = out.getvalue()
    tail = text[text.index("Open the clinic") :]
    for needle in (
        "admin / admin",
        "demo database only",
        "/admin/",
        "/petmail/subscribe/",
        "/petmail/api/schema/swagger-ui/",
        "mail ",
    ):
        assert needle in tail
    admin = get_user_model().objects.get(username="admin")
    assert admin.is_superuser and admin.check_password("admin")


@pytest.mark.django_db
def test_without_create_admin_the_demo_names_the_command_and_creates_nobody():
    lines = how_to_open(create_admin=False)
    assert any("createsuperuser" in line for line in lines)
    assert not get_user_model().objects.filter(username="admin").exists()


@pytest.mark.parametrize(
    ("argv", "url"),
    [
        (["manage.py", "runserver"], "http://localhost:8000"),
        (["manage.py", "runserver", "8001"], "http://localhost:8001"),
        (["manage.py", "runserver", "0.0.0.0:9000", "--noreload"], "http://localhost:9000"),
        (["manage.py", "runserver", "clinic.local:8080"], "http://clinic.local:8080"),
        (["manage.py", "runserver", "nonsense"], "http://localhost:8000"),
        (["manage.py", "migrate"], "http://localhost:8000"),
    ],
)
def test_site_url_follows_the_runserver_port(argv, url):
    assert runserver_site_url(argv) == url


def test_the_example_project_prints_mail_on_the_console_by_default():
    source = Path(clinic_settings.__file__).read_text(encoding="utf-8")
    assert '"EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend"' in source
