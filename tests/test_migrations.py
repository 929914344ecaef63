"""Models and committed migrations agree, on whichever database the suite runs."""

from io import StringIO

import pytest
from django.core.management import call_command


@pytest.mark.django_db
def test_no_missing_migrations():
    out = StringIO()
    call_command("makemigrations", "--check", "--dry-run", stdout=out, stderr=out)
    assert "No changes detected" in out.getvalue()


@pytest.mark.django_db
def test_owner_foreign_keys_follow_the_owner_setting(settings):
    from django_petmail.conf import get_owner_model
    from django_petmail.models import EmailSend, NewsletterSubscription, SequenceEnrollment

    owner_model = get_owner_model()
    for model in (NewsletterSubscription, EmailSend, SequenceEnrollment):
        assert model._meta.get_field("owner").related_model is owner_model
