"""The clinic's own models read in Spanish in its Spanish admin."""

import pytest
from django.urls import reverse

from clinic.models import Appointment, Cart, Order, Owner, Pet, Vaccination

PLURALS = {
    Owner: "propietarios",
    Pet: "mascotas",
    Appointment: "citas",
    Order: "pedidos",
    Vaccination: "vacunaciones",
    Cart: "carritos",
}
SAME_IN_BOTH = {"total"}


@pytest.mark.parametrize("model", PLURALS)
def test_every_clinic_model_and_field_has_a_spanish_label(model):
    opts = model._meta
    assert opts.verbose_name_plural == PLURALS[model]
    for field in opts.get_fields(include_hidden=False):
        if field.concrete and not field.primary_key and field.name not in SAME_IN_BOTH:
            assert field.verbose_name != field.name.replace("_", " "), (model, field.name)


@pytest.mark.django_db
def test_the_admin_index_lists_them_in_spanish(admin_client):
    body = admin_client.get(reverse("admin:app_list", args=["clinic"])).content.decode()
    for label in ("Mascotas", "Citas", "Pedidos", "Vacunaciones", "Carritos"):
        assert label in body
    assert "Pets" not in body and "Orders" not in body
