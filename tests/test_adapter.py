"""The default adapter and its replacement through settings."""

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import RequestFactory, override_settings

from clinic.adapter import ClinicAdapter
from django_petmail.adapter import PetmailAdapter, get_adapter
from django_petmail.models import NewsletterSubscription
from tests.factories import OwnerFactory, PetFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db


class CustomAdapter(PetmailAdapter):
    def get_from_email(self) -> str:
        return "custom@example.com"


def test_get_adapter_returns_the_configured_class():
    assert isinstance(get_adapter(), ClinicAdapter)
    with override_settings(PETMAIL={"ADAPTER": "tests.test_adapter.CustomAdapter"}):
        assert get_adapter().get_from_email() == "custom@example.com"
    assert isinstance(get_adapter(), ClinicAdapter)


def test_adapter_must_subclass_petmail_adapter():
    with (
        override_settings(PETMAIL={"ADAPTER": "builtins.dict"}),
        pytest.raises(ImproperlyConfigured, match="subclass of"),
    ):
        get_adapter()


def test_owner_lookup_is_case_insensitive():
    owner = OwnerFactory(email="Marta@Example.com")
    adapter = PetmailAdapter()
    assert adapter.get_owner_for_email("marta@example.COM") == owner
    assert adapter.get_owner_for_email("nobody@example.com") is None
    assert adapter.get_owner_email(owner) == "Marta@Example.com"


def test_owner_names():
    owner = OwnerFactory(first_name=" Marta ", last_name="Ruiz")
    adapter = PetmailAdapter()
    assert adapter.get_owner_first_name(owner) == "Marta"
    assert adapter.get_owner_full_name(owner).split() == ["Marta", "Ruiz"]


def test_full_name_without_get_full_name():
    class Plain:
        first_name = "Ana"
        last_name = ""

    assert PetmailAdapter().get_owner_full_name(Plain()) == "Ana"


def test_personalization_falls_back_to_amigo():
    sub = SubscriptionFactory(first_name="")
    ctx = PetmailAdapter().get_personalization_context([sub])[sub.pk]
    assert ctx == {
        "email": sub.email,
        "first_name": "Amigo",
        "owner_name": "Amigo",
        "owner_full_name": "Amigo",
    }
    with override_settings(PETMAIL={"FALLBACK_FIRST_NAME": "Friend"}):
        assert PetmailAdapter().get_personalization_context([sub])[sub.pk]["first_name"] == "Friend"


def test_personalization_uses_owner_names():
    owner = OwnerFactory(first_name="Marta", last_name="Ruiz")
    sub = SubscriptionFactory(owner=owner, email=owner.email, first_name="")
    ctx = PetmailAdapter().get_personalization_context([sub])[sub.pk]
    assert ctx["first_name"] == "Marta"
    assert ctx["owner_full_name"] == "Marta Ruiz"


def test_clinic_adapter_adds_pet_names_in_one_query(django_assert_num_queries):
    subs = []
    for i in range(5):
        owner = OwnerFactory()
        PetFactory(owner=owner, name=f"Luna{i}")
        PetFactory(owner=owner, name=f"Coco{i}")
        subs.append(SubscriptionFactory(owner=owner, email=owner.email))
    subs.append(SubscriptionFactory())  # no owner, no pets
    batch = list(NewsletterSubscription.objects.select_related("owner").order_by("pk"))
    with django_assert_num_queries(1):
        contexts = ClinicAdapter().get_personalization_context(batch)
    assert sorted(contexts[subs[0].pk]["pet_names"].split(", ")) == ["Coco0", "Luna0"]
    assert contexts[subs[-1].pk]["pet_name"] == "tu mascota"


def test_site_url_from_setting_then_request():
    adapter = PetmailAdapter()
    assert adapter.get_site_url() == "https://clinic.test"
    request = RequestFactory().get("/x/", HTTP_HOST="testserver")
    with override_settings(PETMAIL={"SITE_URL": None}):
        assert adapter.get_site_url(request) == "http://testserver"
        with pytest.raises(ImproperlyConfigured, match="SITE_URL"):
            adapter.get_site_url()


def test_sender_and_reply_to(settings):
    adapter = PetmailAdapter()
    assert adapter.get_from_email() == "Clínica Huellas <hola@huellas.example>"
    with override_settings(PETMAIL={}):
        assert adapter.get_from_email() == settings.DEFAULT_FROM_EMAIL
        assert adapter.get_reply_to() == []
    with override_settings(PETMAIL={"REPLY_TO": "r@example.com"}):
        assert adapter.get_reply_to() == ["r@example.com"]
    with override_settings(PETMAIL={"REPLY_TO": ("a@example.com", "b@example.com")}):
        assert adapter.get_reply_to() == ["a@example.com", "b@example.com"]


def test_topics_come_from_settings():
    assert PetmailAdapter().get_topics() == ["promotions", "pet_tips", "news", "reminders"]
    with override_settings(PETMAIL={"TOPICS": ["news"]}):
        assert PetmailAdapter().get_topics() == ["news"]
