"""The returns read model in the admin, read only."""

from django.contrib import admin

from eventstore.admin.toolkit import ReadModelAdmin

from .models import ReturnRow


@admin.register(ReturnRow)
class ReturnRowAdmin(ReadModelAdmin):
    list_display = ("order_id", "status", "reason", "requested_at", "received_at", "updated_at")
    list_filter = ("status",)
    search_fields = ("order_id__exact",)
    search_help_text = "An exact order id."
    ordering = ("-updated_at",)
