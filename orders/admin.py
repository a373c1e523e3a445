"""The orders read models in the admin, read only; an order's page tells its whole story."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Q
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from eventstore.admin import ReadModelAdmin
from eventstore.admin.log import event_list_link, pretty_json
from eventstore.models import Event

from .models import CustomerOrders, OrderSummary, ProductSales, SalesByDay

#: The streams an order's events are in, one per component (DESIGN 6.3).
STREAMS = ("order-{}", "payment-{}", "shipment-{}")


def order_story(order_id: str) -> list[Event]:
    """Every event of the order, in log order: its three streams, and every event of the flows
    that touched them (so the raw input messages, the order and its cancel or warehouse updates)."""
    streams = [stream.format(order_id) for stream in STREAMS]
    flows = set(Event.objects.filter(stream_id__in=streams).values_list("correlation_id", flat=True))
    return list(
        Event.objects.filter(Q(stream_id__in=streams) | Q(correlation_id__in=flows)).order_by(
            "transaction_id", "position"
        )
    )


@admin.register(OrderSummary)
class OrderSummaryAdmin(ReadModelAdmin):
    list_display = ("order_id", "status", "customer_email", "total", "currency", "partner", "placed_at", "updated_at")
    list_filter = ("status", "payment_status", "shipment_status", "partner")
    search_fields = ("order_id__exact", "customer_email__exact")
    search_help_text = "An exact order id or customer email."
    ordering = ("-placed_at",)
    date_hierarchy = "placed_at"
    fieldsets = (
        ("Read model row (order_summary)", {"fields": [f.name for f in OrderSummary._meta.fields]}),
        ("Story: every event of the order, in log order", {"fields": ["story"]}),
    )

    def get_readonly_fields(self, request, obj=None) -> list[str]:
        return [*super().get_readonly_fields(request, obj), "story"]

    @admin.display(description="events")
    def story(self, summary: OrderSummary) -> SafeString:
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><details><summary>data</summary>{}</details></td></tr>",
            (
                (
                    event.recorded_at.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3],
                    event.category,
                    event_list_link(event.stream_id, stream_id=event.stream_id),
                    event_list_link(event.event_type, event_id=str(event.event_id)),
                    pretty_json(event.data),
                )
                for event in order_story(summary.order_id)
            ),
        )
        return format_html(
            '<table class="order-story"><thead><tr><th>recorded at</th><th>component</th><th>stream</th>'
            "<th>event</th><th></th></tr></thead><tbody>{}</tbody></table>",
            rows,
        )


@admin.register(SalesByDay)
class SalesByDayAdmin(ReadModelAdmin):
    list_display = ("day", "currency", "orders", "revenue")
    list_filter = ("currency",)
    ordering = ("-day", "currency")
    date_hierarchy = "day"


@admin.register(ProductSales)
class ProductSalesAdmin(ReadModelAdmin):
    list_display = ("sku", "currency", "quantity", "orders", "revenue")
    list_filter = ("currency",)
    search_fields = ("sku__exact",)
    ordering = ("-quantity",)


@admin.register(CustomerOrders)
class CustomerOrdersAdmin(ReadModelAdmin):
    list_display = ("email", "name", "orders", "cancelled", "first_order_at", "last_order_at", "last_order_id")
    search_fields = ("email__exact",)
    ordering = ("-last_order_at",)
