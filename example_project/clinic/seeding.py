"""Realistic, reproducible clinic data, inserted in bulk.

Owners are created in chunks; each chunk's pets, appointments, orders, vaccinations, carts and
newsletter subscriptions go in with one ``bulk_create`` per table, so 100k owners take
seconds, not hours. The random generator is seeded, so two runs give the same clinic.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils import timezone

from django_petmail.conf import get_owner_model
from django_petmail.models import (
    ConsentEvent,
    ConsentEventType,
    Frequency,
    NewsletterSubscription,
    SubscriptionSource,
    SubscriptionStatus,
    email_hash,
)

from .models import (
    Appointment,
    AppointmentStatus,
    Cart,
    Order,
    OrderStatus,
    Pet,
    Species,
    Vaccination,
)

FIRST_NAMES = [
    "Lucía",
    "Hugo",
    "Martina",
    "Mateo",
    "Sofía",
    "Leo",
    "María",
    "Pablo",
    "Julia",
    "Daniel",
    "Paula",
    "Álvaro",
    "Valeria",
    "Manuel",
    "Emma",
    "Adrián",
    "Daniela",
    "Enzo",
    "Carla",
    "Mario",
    "Sara",
    "Diego",
    "Alba",
    "Marcos",
    "Noa",
    "Javier",
    "Carmen",
    "Iker",
    "Irene",
    "Nicolás",
    "Olivia",
    "Bruno",
    "Vega",
    "Gonzalo",
    "Claudia",
    "Sergio",
    "Elena",
    "Jorge",
]
LAST_NAMES = [
    "García",
    "Rodríguez",
    "González",
    "Fernández",
    "López",
    "Martínez",
    "Sánchez",
    "Pérez",
    "Gómez",
    "Martín",
    "Jiménez",
    "Ruiz",
    "Hernández",
    "Díaz",
    "Moreno",
    "Muñoz",
    "Álvarez",
    "Romero",
    "Alonso",
    "Gutiérrez",
    "Navarro",
    "Torres",
    "Domínguez",
    "Vázquez",
    "Ramos",
]
PET_NAMES = [
    "Luna",
    "Coco",
    "Rocky",
    "Lola",
    "Toby",
    "Nala",
    "Max",
    "Kira",
    "Simba",
    "Bruno",
    "Mia",
    "Thor",
    "Canela",
    "Chispa",
    "Nube",
    "Pipo",
    "Duna",
    "Lucas",
    "Maya",
    "Olivia",
    "Oreo",
]
BREEDS = {
    Species.DOG: [
        "Labrador",
        "Pastor alemán",
        "Bulldog francés",
        "Golden retriever",
        "Podenco",
        "Galgo",
        "Yorkshire",
        "Chihuahua",
        "Mestizo",
    ],
    Species.CAT: ["Europeo común", "Siamés", "Persa", "Maine coon", "Mestizo"],
    Species.RABBIT: ["Belier", "Cabeza de león", "Enano"],
    Species.BIRD: ["Periquito", "Agapornis", "Canario"],
    Species.OTHER: ["Hurón", "Cobaya", "Tortuga"],
}
SPECIES_WEIGHTS = [
    (Species.DOG, 50),
    (Species.CAT, 35),
    (Species.RABBIT, 6),
    (Species.BIRD, 5),
    (Species.OTHER, 4),
]
VACCINES = {
    Species.DOG: ["Rabia", "Polivalente canina", "Leishmaniosis"],
    Species.CAT: ["Rabia", "Trivalente felina", "Leucemia felina"],
    Species.RABBIT: ["Mixomatosis", "Enfermedad hemorrágica vírica"],
}
TOPICS = ["promotions", "pet_tips", "news", "reminders"]


@dataclass
class SeedReport:
    owners: int = 0
    pets: int = 0
    appointments: int = 0
    orders: int = 0
    vaccinations: int = 0
    carts: int = 0
    subscriptions: int = 0
    consent_events: int = 0
    by_status: dict[str, int] = field(default_factory=dict)

    def add(self, other: SeedReport) -> None:
        for name in (
            "owners",
            "pets",
            "appointments",
            "orders",
            "vaccinations",
            "carts",
            "subscriptions",
            "consent_events",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for key, value in other.by_status.items():
            self.by_status[key] = self.by_status.get(key, 0) + value


def _chunks(total: int, size: int) -> Iterator[tuple[int, int]]:
    for start in range(0, total, size):
        yield start, min(size, total - start)


def seed_clinic(
    owners: int,
    *,
    seed: int = 42,
    chunk_size: int = 2000,
    subscription_rate: float = 0.7,
    now: datetime | None = None,
    progress: Callable[[int], Any] | None = None,
) -> SeedReport:
    """Create ``owners`` owners with their pets, visits, orders, vaccinations, carts and (for
    ``subscription_rate`` of them) newsletter subscriptions. Calls ``progress(n)`` after each
    chunk of ``n`` owners."""
    rng = random.Random(seed)
    now = now or timezone.now()
    start_index = get_owner_model()._default_manager.count()
    report = SeedReport()
    for offset, size in _chunks(owners, chunk_size):
        with transaction.atomic():
            report.add(_seed_chunk(rng, start_index + offset, size, now, subscription_rate))
        if progress:
            progress(size)
    return report


def _make_owners(index: int, count: int, rng: random.Random, now: datetime) -> list[Any]:
    model = get_owner_model()
    field_names = {f.name for f in model._meta.get_fields()}
    unusable = make_password(None) if "password" in field_names else None
    owners = []
    for i in range(index, index + count):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        email = f"owner{i:07d}@huellas.example"
        values: dict[str, Any] = {"first_name": first, "last_name": last, "email": email}
        if "username" in field_names:
            values["username"] = email
        if unusable is not None:
            values["password"] = unusable
        if "date_joined" in field_names:
            values["date_joined"] = now - timedelta(days=rng.randint(0, 1500))
        owners.append(model(**values))
    return model._default_manager.bulk_create(owners)


def _pick_species(rng: random.Random) -> str:
    total = sum(w for _, w in SPECIES_WEIGHTS)
    roll = rng.uniform(0, total)
    for species, weight in SPECIES_WEIGHTS:
        roll -= weight
        if roll <= 0:
            return species
    return Species.DOG  # pragma: no cover - float edge


def _seed_chunk(
    rng: random.Random, index: int, count: int, now: datetime, subscription_rate: float
) -> SeedReport:
    report = SeedReport()
    owners = _make_owners(index, count, rng, now)
    report.owners = len(owners)
    today = now.date()

    pets: list[Pet] = []
    for owner in owners:
        for _ in range(rng.choices([0, 1, 2, 3], weights=[8, 55, 27, 10])[0]):
            species = _pick_species(rng)
            age_days = rng.randint(60, 15 * 365)
            pets.append(
                Pet(
                    owner_id=owner.pk,
                    name=rng.choice(PET_NAMES),
                    species=species,
                    breed=rng.choice(BREEDS[species]),
                    birthday=today - timedelta(days=age_days),
                )
            )
    Pet.objects.bulk_create(pets)
    report.pets = len(pets)
    pets_by_owner: dict[int, list[Pet]] = {}
    for pet in pets:
        pets_by_owner.setdefault(pet.owner_id, []).append(pet)

    appointments, orders, vaccinations, carts = [], [], [], []
    for owner in owners:
        owner_pets = pets_by_owner.get(owner.pk, [])
        for _ in range(rng.choices([0, 1, 2, 4, 8], weights=[15, 30, 30, 15, 10])[0]):
            when = now - timedelta(days=rng.randint(1, 720), hours=rng.randint(0, 10))
            appointments.append(
                Appointment(
                    owner_id=owner.pk,
                    pet=rng.choice(owner_pets) if owner_pets else None,
                    start=when,
                    status=rng.choices(
                        [
                            AppointmentStatus.COMPLETED,
                            AppointmentStatus.CANCELLED,
                            AppointmentStatus.NO_SHOW,
                        ],
                        weights=[85, 10, 5],
                    )[0],
                    reason=rng.choice(["Revisión", "Vacunación", "Consulta", "Peluquería"]),
                )
            )
        if rng.random() < 0.2:
            appointments.append(
                Appointment(
                    owner_id=owner.pk,
                    pet=rng.choice(owner_pets) if owner_pets else None,
                    start=now + timedelta(days=rng.randint(1, 60), hours=rng.randint(0, 8)),
                    status=AppointmentStatus.SCHEDULED,
                    reason="Revisión",
                )
            )
        for _ in range(rng.choices([0, 1, 3, 6, 12], weights=[25, 30, 25, 15, 5])[0]):
            orders.append(
                Order(
                    owner_id=owner.pk,
                    status=rng.choices(
                        [OrderStatus.COMPLETED, OrderStatus.REFUNDED, OrderStatus.CANCELLED],
                        weights=[88, 6, 6],
                    )[0],
                    total=Decimal(rng.randint(800, 25000)) / 100,
                    created=now - timedelta(days=rng.randint(0, 900)),
                )
            )
        for pet in owner_pets:
            for vaccine in VACCINES.get(pet.species, [])[: rng.randint(0, 2)]:
                due = today + timedelta(days=rng.randint(-60, 300))
                vaccinations.append(
                    Vaccination(
                        pet=pet,
                        vaccine=vaccine,
                        due_date=due,
                        administered_at=due if due < today and rng.random() < 0.7 else None,
                    )
                )
        if rng.random() < 0.12:
            touched = now - timedelta(hours=rng.randint(1, 96))
            carts.append(
                Cart(
                    owner_id=owner.pk,
                    item_count=rng.randint(1, 5),
                    total=Decimal(rng.randint(1000, 12000)) / 100,
                    created=touched,
                    updated=touched,
                    checked_out_at=touched + timedelta(minutes=5) if rng.random() < 0.4 else None,
                )
            )
    Appointment.objects.bulk_create(appointments)
    Order.objects.bulk_create(orders)
    Vaccination.objects.bulk_create(vaccinations)
    Cart.objects.bulk_create(carts)
    report.appointments, report.orders = len(appointments), len(orders)
    report.vaccinations, report.carts = len(vaccinations), len(carts)

    subscriptions = _subscriptions(rng, owners, now, subscription_rate)
    # subscribed_at and the ledger's timestamps are auto_now_add: bulk_create sets them to
    # now, so the seeded history (subscribed, then confirmed) is written after the insert
    subscribed = {sub.email: _subscribed_at(sub, now) for sub in subscriptions}
    NewsletterSubscription.objects.bulk_create(subscriptions)
    for sub in subscriptions:
        sub.subscribed_at = subscribed[sub.email]
    NewsletterSubscription.objects.bulk_update(subscriptions, ["subscribed_at"], batch_size=500)
    consent = []
    for sub in subscriptions:
        consent.append(
            ConsentEvent(
                subscription=sub,
                event=ConsentEventType.SUBSCRIBED,
                source=sub.source,
                form="seed",
                details={"seeded": True},
            )
        )
        if sub.confirmed_at:
            consent.append(
                ConsentEvent(
                    subscription=sub,
                    event=ConsentEventType.CONFIRMED,
                    source=sub.source,
                    form="seed",
                    details={"seeded": True},
                )
            )
    ConsentEvent.objects.bulk_create(consent)
    for event in consent:
        assert event.subscription is not None
        event.timestamp = (
            event.subscription.confirmed_at
            if event.event == ConsentEventType.CONFIRMED
            else event.subscription.subscribed_at
        )
    ConsentEvent.objects.bulk_update(consent, ["timestamp"], batch_size=500)
    report.subscriptions, report.consent_events = len(subscriptions), len(consent)
    for sub in subscriptions:
        report.by_status[sub.status] = report.by_status.get(sub.status, 0) + 1
    return report


def _subscribed_at(sub: NewsletterSubscription, now: datetime) -> datetime:
    """When the seeded subscriber asked: minutes to two days before confirming; a pending
    one within the last week (its confirmation link is still valid)."""
    spread = timedelta(minutes=5 + sum(map(ord, sub.email)) % 2880)
    if sub.confirmed_at is None:
        return now - spread * 3
    return sub.confirmed_at - spread


def _subscriptions(
    rng: random.Random, owners: list[Any], now: datetime, rate: float
) -> list[NewsletterSubscription]:
    subs = []
    for owner in owners:
        if rng.random() >= rate:
            continue
        status = rng.choices(
            [
                SubscriptionStatus.ACTIVE,
                SubscriptionStatus.PENDING,
                SubscriptionStatus.UNSUBSCRIBED,
                SubscriptionStatus.BOUNCED,
            ],
            weights=[86, 6, 6, 2],
        )[0]
        confirmed = now - timedelta(days=rng.randint(0, 900))
        subs.append(
            NewsletterSubscription(
                owner_id=owner.pk,
                email=owner.email,
                email_hash=email_hash(owner.email),
                first_name=owner.first_name,
                status=status,
                frequency=rng.choices(
                    [Frequency.WEEKLY, Frequency.MONTHLY, Frequency.IMPORTANT_ONLY],
                    weights=[60, 30, 10],
                )[0],
                topics=rng.sample(TOPICS, rng.randint(1, len(TOPICS))),
                language=rng.choices(["es", "en"], weights=[85, 15])[0],
                source=rng.choice(
                    [
                        SubscriptionSource.WEBSITE,
                        SubscriptionSource.CHECKOUT,
                        SubscriptionSource.APPOINTMENT,
                        SubscriptionSource.REFERRAL,
                    ]
                ),
                consent_form="seed",
                confirmed_at=None if status == SubscriptionStatus.PENDING else confirmed,
                # between the confirmation and now
                unsubscribed_at=(
                    confirmed + (now - confirmed) * (rng.randint(0, 30) / 30)
                    if status == SubscriptionStatus.UNSUBSCRIBED
                    else None
                ),
            )
        )
    return subs
