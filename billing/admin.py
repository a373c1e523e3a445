"""Billing's read models in the admin, read only."""

from django.contrib import admin

from eventstore.admin.toolkit import ReadModelAdmin

from .models import PaymentLedgerEntry, PaymentsByDay


@admin.register(PaymentLedgerEntry)
class PaymentLedgerAdmin(ReadModelAdmin):
    list_display = ("recorded_at", "order_id", "kind", "amount", "currency", "provider_ref", "reason")
    list_filter = ("kind", "currency")
    search_fields = ("order_id__exact",)
    search_help_text = "An exact order id."
    ordering = ("-recorded_at",)
    date_hierarchy = "recorded_at"


@admin.register(PaymentsByDay)
class PaymentsByDayAdmin(ReadModelAdmin):
    list_display = ("day", "kind", "payments")
    list_filter = ("kind",)
    ordering = ("-day", "kind")
    date_hierarchy = "day"
