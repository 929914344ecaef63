"""How django-petmail sees the clinic: pet names for personalization."""

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from django_petmail.hooks import PetmailAdapter

from .models import Pet


class ClinicAdapter(PetmailAdapter):
    def get_personalization_context(
        self, subscriptions: Sequence[Any]
    ) -> dict[int, dict[str, Any]]:
        contexts = super().get_personalization_context(subscriptions)
        owner_ids = {sub.owner_id for sub in subscriptions if sub.owner_id}
        names: dict[int, list[str]] = defaultdict(list)
        # One query for the whole batch, never one per recipient.
        pets = (
            Pet.objects.filter(owner_id__in=owner_ids)
            .order_by("owner_id", "birthday", "name")
            .values_list("owner_id", "name")
        )
        for owner_id, name in pets:
            names[owner_id].append(name)
        for sub in subscriptions:
            pet_names = names.get(sub.owner_id, [])
            contexts[sub.pk]["pet_name"] = pet_names[0] if pet_names else "tu mascota"
            contexts[sub.pk]["pet_names"] = ", ".join(pet_names) or "tu mascota"
        return contexts
