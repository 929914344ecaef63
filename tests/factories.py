"""factory_boy factories; the owner factory builds whatever PETMAIL_OWNER_MODEL is."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import factory
from django.conf import settings
from django.utils import timezone

from clinic.models import Appointment, AppointmentStatus, Order, OrderStatus, Pet, Species
from django_petmail import models as pm


class OwnerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = settings.PETMAIL_OWNER_MODEL

    first_name = factory.Faker("first_name", locale="es_ES")
    last_name = factory.Faker("last_name", locale="es_ES")
    email = factory.Sequence(lambda n: f"owner{n}@example.com")

    @classmethod
    def _adjust_kwargs(cls, **kwargs: Any) -> dict[str, Any]:
        model = cls._meta.get_model_class()
        names = {f.name for f in model._meta.get_fields()}
        if "username" in names:
            kwargs.setdefault("username", kwargs["email"])
        return kwargs


class SubscriptionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = pm.NewsletterSubscription

    email = factory.Sequence(lambda n: f"sub{n}@example.com")
    first_name = factory.Faker("first_name", locale="es_ES")
    status = pm.SubscriptionStatus.ACTIVE
    topics = factory.LazyFunction(lambda: ["promotions", "news"])
    confirmed_at = factory.LazyFunction(timezone.now)
    source = pm.SubscriptionSource.WEBSITE


class TemplateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = pm.EmailTemplate

    name = factory.Sequence(lambda n: f"Plantilla {n}")
    slug = factory.Sequence(lambda n: f"plantilla-{n}")
    subject = "Hola {{ first_name }}"
    html_content = "<p>Hola {{ first_name }}</p>"


class SegmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = pm.CustomerSegment

    name = factory.Sequence(lambda n: f"Segmento {n}")
    slug = factory.Sequence(lambda n: f"segmento-{n}")
    rules = factory.LazyFunction(dict)


class CampaignFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = pm.EmailCampaign

    name = factory.Sequence(lambda n: f"Campaña {n}")
    subject = "Novedades para {{ pet_name }}"
    html_content = "<p>Hola {{ first_name }}</p>"


class SendFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = pm.EmailSend

    campaign = factory.SubFactory(CampaignFactory)
    subscription = factory.SubFactory(SubscriptionFactory)
    email_address = factory.SelfAttribute("subscription.email")


class EventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = pm.EmailEvent

    send = factory.SubFactory(SendFactory)
    event_type = pm.EventType.DELIVERY
    esp_event_id = factory.Sequence(lambda n: f"esp-event-{n}")


class SequenceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = pm.AutomatedSequence

    name = factory.Sequence(lambda n: f"Secuencia {n}")
    trigger_type = pm.TriggerType.SIGNUP


class StepFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = pm.SequenceStep

    sequence = factory.SubFactory(SequenceFactory)
    step_number = factory.Sequence(lambda n: n + 1)
    subject = "Paso"
    html_content = "<p>Paso</p>"


class EnrollmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = pm.SequenceEnrollment

    sequence = factory.SubFactory(SequenceFactory)
    subscription = factory.SubFactory(SubscriptionFactory)


class PetFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Pet

    owner = factory.SubFactory(OwnerFactory)
    name = factory.Iterator(["Luna", "Coco", "Toby", "Nala"])
    species = Species.DOG
    breed = "Labrador"


class OrderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Order

    owner = factory.SubFactory(OwnerFactory)
    status = OrderStatus.COMPLETED
    total = Decimal("100.00")


class AppointmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Appointment

    owner = factory.SubFactory(OwnerFactory)
    start = factory.LazyFunction(timezone.now)
    status = AppointmentStatus.COMPLETED
