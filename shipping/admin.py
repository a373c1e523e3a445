"""Shipping's read model in the admin, read only."""

from django.contrib import admin

from eventstore.admin.toolkit import ReadModelAdmin

from .models import ShipmentBoardRow


@admin.register(ShipmentBoardRow)
class ShipmentsBoardAdmin(ReadModelAdmin):
    list_display = ("order_id", "status", "city", "country", "carrier", "tracking_number", "updated_at")
    list_filter = ("status", "country")
    search_fields = ("order_id__exact", "tracking_number__exact")
    search_help_text = "An exact order id or tracking number."
    ordering = ("-updated_at",)
