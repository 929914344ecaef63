"""The example clinic's own data: owners, pets, appointments, orders, vaccinations, carts.

The clinic is a Spanish site with a Spanish admin, so its labels are plain Spanish, like its
choices (a project that serves several languages would wrap them in ``gettext_lazy``).

Everything points at ``settings.PETMAIL_OWNER_MODEL`` so the clinic works whether its owners
are login accounts (``auth.User``) or plain customer records (:class:`Owner`).
"""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils import timezone


class Owner(models.Model):
    """A pet owner who is a customer, not necessarily a site user."""

    first_name = models.CharField("nombre", max_length=100)
    last_name = models.CharField("apellidos", max_length=100, blank=True)
    email = models.EmailField("correo electrónico", unique=True)
    phone = models.CharField("teléfono", max_length=30, blank=True)
    created_at = models.DateTimeField("fecha de alta", default=timezone.now)

    class Meta:
        ordering = ["last_name", "first_name"]
        verbose_name = "propietario"
        verbose_name_plural = "propietarios"

    def __str__(self) -> str:
        return self.get_full_name() or self.email

    def get_full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


class Species(models.TextChoices):
    DOG = "dog", "Perro"
    CAT = "cat", "Gato"
    RABBIT = "rabbit", "Conejo"
    BIRD = "bird", "Pájaro"
    OTHER = "other", "Otro"


class Pet(models.Model):
    owner = models.ForeignKey(
        settings.PETMAIL_OWNER_MODEL,
        on_delete=models.CASCADE,
        related_name="pets",
        verbose_name="propietario",
    )
    name = models.CharField("nombre", max_length=100)
    species = models.CharField("especie", max_length=20, choices=Species.choices)
    breed = models.CharField("raza", max_length=100, blank=True)
    birthday = models.DateField("fecha de nacimiento", null=True, blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name = "mascota"
        verbose_name_plural = "mascotas"

    def __str__(self) -> str:
        return self.name


class AppointmentStatus(models.TextChoices):
    SCHEDULED = "scheduled", "Programada"
    COMPLETED = "completed", "Completada"
    CANCELLED = "cancelled", "Cancelada"
    NO_SHOW = "no_show", "No presentado"


class Appointment(models.Model):
    owner = models.ForeignKey(
        settings.PETMAIL_OWNER_MODEL,
        on_delete=models.CASCADE,
        related_name="appointments",
        verbose_name="propietario",
    )
    pet = models.ForeignKey(
        Pet,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="appointments",
        verbose_name="mascota",
    )
    start = models.DateTimeField("fecha y hora")
    status = models.CharField(
        "estado",
        max_length=20,
        choices=AppointmentStatus.choices,
        default=AppointmentStatus.SCHEDULED,
    )
    reason = models.CharField("motivo", max_length=200, blank=True)

    class Meta:
        ordering = ["-start"]
        verbose_name = "cita"
        verbose_name_plural = "citas"
        indexes = [models.Index(fields=["owner", "status", "start"])]

    def __str__(self) -> str:
        return f"{self.start:%Y-%m-%d %H:%M} ({self.get_status_display()})"


class OrderStatus(models.TextChoices):
    PENDING = "pending", "Pendiente"
    COMPLETED = "completed", "Completado"
    REFUNDED = "refunded", "Reembolsado"
    CANCELLED = "cancelled", "Cancelado"


class Order(models.Model):
    owner = models.ForeignKey(
        settings.PETMAIL_OWNER_MODEL,
        on_delete=models.CASCADE,
        related_name="orders",
        verbose_name="propietario",
    )
    status = models.CharField(
        "estado", max_length=20, choices=OrderStatus.choices, default=OrderStatus.PENDING
    )
    total = models.DecimalField("total", max_digits=10, decimal_places=2, default=Decimal("0"))
    created = models.DateTimeField("fecha", default=timezone.now)

    class Meta:
        ordering = ["-created"]
        verbose_name = "pedido"
        verbose_name_plural = "pedidos"
        indexes = [models.Index(fields=["owner", "status"])]

    def __str__(self) -> str:
        return f"#{self.pk} {self.total} ({self.get_status_display()})"


class Vaccination(models.Model):
    pet = models.ForeignKey(
        Pet, on_delete=models.CASCADE, related_name="vaccinations", verbose_name="mascota"
    )
    vaccine = models.CharField("vacuna", max_length=100)
    due_date = models.DateField("fecha prevista")
    administered_at = models.DateField("administrada el", null=True, blank=True)

    class Meta:
        ordering = ["due_date"]
        verbose_name = "vacunación"
        verbose_name_plural = "vacunaciones"
        indexes = [models.Index(fields=["due_date"])]

    def __str__(self) -> str:
        return f"{self.vaccine} ({self.due_date})"


class Cart(models.Model):
    """A shop cart; one that is neither checked out nor touched for hours is abandoned."""

    owner = models.ForeignKey(
        settings.PETMAIL_OWNER_MODEL,
        on_delete=models.CASCADE,
        related_name="carts",
        verbose_name="propietario",
    )
    total = models.DecimalField("total", max_digits=10, decimal_places=2, default=Decimal("0"))
    item_count = models.PositiveIntegerField("artículos", default=0)
    created = models.DateTimeField("creado", default=timezone.now)
    updated = models.DateTimeField("actualizado", default=timezone.now)
    checked_out_at = models.DateTimeField("comprado el", null=True, blank=True)

    class Meta:
        ordering = ["-updated"]
        verbose_name = "carrito"
        verbose_name_plural = "carritos"

    def __str__(self) -> str:
        return f"Cart #{self.pk} ({self.item_count} items)"
