"""The steps of ``manage.py demo``: each prints its part of the report.

A capability joins the demo by adding a function to ``STEPS``; each receives the command (for
``stdout``/``style``) and the parsed options, and returns report lines.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db.models import Count

from django_petmail.conf import get_owner_model
from django_petmail.models import ConsentEvent, NewsletterSubscription

from .models import Appointment, Cart, Order, Pet, Vaccination
from .seeding import seed_clinic

Step = Callable[[Any, dict[str, Any]], list[str]]


def seed_step(command: Any, options: dict[str, Any]) -> list[str]:
    from tqdm import tqdm

    owners = options["owners"]
    with tqdm(
        total=owners,
        unit="owners",
        desc="Seeding clinic",
        file=command.stderr,
        disable=options["verbosity"] == 0,
    ) as bar:
        seed_clinic(owners, seed=options["seed"], progress=bar.update)
    by_status = dict(NewsletterSubscription.objects.values_list("status").annotate(n=Count("pk")))
    return [
        "Clinic",
        f"  owners         {get_owner_model()._default_manager.count():>8}",
        f"  pets           {Pet.objects.count():>8}",
        f"  appointments   {Appointment.objects.count():>8}",
        f"  orders         {Order.objects.count():>8}",
        f"  vaccinations   {Vaccination.objects.count():>8}",
        f"  carts          {Cart.objects.count():>8}",
        "Newsletter",
        f"  subscriptions  {NewsletterSubscription.objects.count():>8}  "
        + ", ".join(f"{k}={v}" for k, v in sorted(by_status.items())),
        f"  consent events {ConsentEvent.objects.count():>8}",
    ]


STEPS: list[Step] = [seed_step]
