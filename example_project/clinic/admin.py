from django.contrib import admin

from .models import Appointment, Cart, Order, Owner, Pet, Vaccination


@admin.register(Owner)
class OwnerAdmin(admin.ModelAdmin):
    list_display = ("email", "first_name", "last_name", "phone", "created_at")
    search_fields = ("email", "first_name", "last_name")


@admin.register(Pet)
class PetAdmin(admin.ModelAdmin):
    list_display = ("name", "species", "breed", "birthday", "owner")
    list_filter = ("species",)
    search_fields = ("name", "breed")
    raw_id_fields = ("owner",)


@admin.register(Appointment)
class AppointmentAdmin(admin.ModelAdmin):
    list_display = ("start", "owner", "pet", "status", "reason")
    list_filter = ("status",)
    date_hierarchy = "start"
    raw_id_fields = ("owner", "pet")


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = ("pk", "owner", "status", "total", "created")
    list_filter = ("status",)
    date_hierarchy = "created"
    raw_id_fields = ("owner",)


@admin.register(Vaccination)
class VaccinationAdmin(admin.ModelAdmin):
    list_display = ("vaccine", "pet", "due_date", "administered_at")
    list_filter = ("vaccine",)
    raw_id_fields = ("pet",)


@admin.register(Cart)
class CartAdmin(admin.ModelAdmin):
    list_display = ("pk", "owner", "item_count", "total", "updated", "checked_out_at")
    raw_id_fields = ("owner",)
