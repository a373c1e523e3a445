"""The orders read models: order summaries (with the orders placed by day and status and the lead
times by day the reports read, orders.report_days), sales by day, product sales, customers.

Other components' events are read as raw JSON. Every value comes from the events (times are
`recorded_at`, never now), so a rebuild from zero gives the same rows as following the log.

A forgotten customer (CustomerForgotten, eventstore.personal_data) is anonymised in the order
summaries and the customers: their personal fields read as erased, their counts stay. A rebuild
after it reads their events erased already, and comes to the same rows.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import Any

from contracts.order_status import status_after
from eventstore.personal_data import ERASED, FORGOTTEN_TYPE, split_at_forgotten
from eventstore.projections import Rebuild, RowProjector
from eventstore.store import EventStore, RecordedEvent

from .models import CustomerOrders, LeadTimesByDay, OrdersPlacedByStatus, OrderSummary, ProductSales, SalesByDay
from .report_days import DayChanges


class OrderSummaryProjector(RowProjector):
    name = "order_summary"
    event_types = (
        "OrderPlaced",
        "OrderCancelled",
        "PaymentCaptured",
        "PaymentDeclined",
        "PaymentRefunded",
        "ShipmentRequested",
        "ShipmentDispatched",
        "ShipmentDelivered",
        "ShipmentCancelled",
        "ReturnRequested",  # these two move the status only
        "ReturnReceived",
        FORGOTTEN_TYPE,
    )
    model, key_fields = OrderSummary, ("order_id",)

    def project(self, events: list[RecordedEvent], *, rebuild: Rebuild | None = None) -> None:
        for batch, forgotten in split_at_forgotten(events):
            super().project(batch, rebuild=rebuild)
            if forgotten is not None:
                OrderSummary.objects.filter(order_id__in=forgotten.data["order_ids"]).update(
                    customer_email=forgotten.data["erased_email"],
                    customer_name=ERASED,
                    shipping_line1=ERASED,
                    shipping_city=ERASED,
                    shipping_postcode=ERASED,
                )

    def key(self, event: RecordedEvent) -> tuple[str]:
        return (event.data["order_id"],)

    def rows_written(self, before: dict[tuple, dict[str, Any]], after: dict[tuple, dict[str, Any]]) -> None:
        """Each changed order's place in the day-level read models moved from its row before the
        batch to its row after."""
        changes = DayChanges()
        for key, row in after.items():
            changes.remove(before.get(key))
            changes.add(row)
        changes.apply()

    def fold(self, row: dict[str, Any] | None, event: RecordedEvent) -> dict[str, Any]:
        row = row or {"status": "placed", "lines": [], "total": None}
        data, at = event.data, event.recorded_at
        row["updated_at"] = at
        row["status"] = status_after(row["status"], event.event_type)
        match event.event_type:
            case "OrderPlaced":
                row.update(
                    partner=data.get("partner") or "",
                    source=data.get("source") or "",
                    customer_email=data["customer"]["email"],
                    customer_name=data["customer"]["name"],
                    **{f"shipping_{name}": value for name, value in data["shipping_address"].items()},
                    currency=data["currency"],
                    total=Decimal(data["total"]),
                    lines=data["lines"],
                    correlation_id=event.correlation_id,
                    placed_at=at,
                )
            case "PaymentCaptured":
                row.update(payment_status="captured", provider_ref=data.get("provider_ref", ""), paid_at=at)
            case "PaymentDeclined":
                row["payment_status"] = "declined"
            case "PaymentRefunded":
                row["payment_status"] = "refunded"
            case "ShipmentRequested":
                row["shipment_status"] = "requested"
            case "ShipmentDispatched":
                row.update(
                    shipment_status="dispatched",
                    carrier=data.get("carrier", ""),
                    tracking_number=data.get("tracking_number", ""),
                    dispatched_at=at,
                )
            case "ShipmentDelivered":
                row["shipment_status"] = "delivered"
            case "ShipmentCancelled":
                row["shipment_status"] = "cancelled"
        return row


# The summaries' projector owns the day-level read models too (a rebuild empties them with it).
OrderSummaryProjector.models = (OrderSummary, OrdersPlacedByStatus, LeadTimesByDay)


class SalesByDayProjector(RowProjector):
    name = "sales_by_day"
    event_types = ("OrderPlaced",)
    model, key_fields = SalesByDay, ("day", "currency")

    def key(self, event: RecordedEvent) -> tuple:
        return (event.recorded_at.date(), event.data["currency"])

    def fold(self, row: dict[str, Any] | None, event: RecordedEvent) -> dict[str, Any]:
        row = row or {"orders": 0, "revenue": Decimal(0)}
        return {"orders": row["orders"] + 1, "revenue": row["revenue"] + Decimal(event.data["total"])}


class ProductSalesProjector(RowProjector):
    """Rows per (sku, currency); an order with two lines of one sku counts once in `orders`."""

    name = "product_sales"
    event_types = ("OrderPlaced",)
    model, key_fields = ProductSales, ("sku", "currency")

    def keys(self, event: RecordedEvent) -> list[tuple[str, str]]:
        currency = event.data["currency"]
        return [(sku, currency) for sku in dict.fromkeys(line["sku"] for line in event.data["lines"])]

    def fold_row(self, row: dict[str, Any] | None, event: RecordedEvent, key: tuple[str, str]) -> dict[str, Any]:
        row = row or {"quantity": 0, "orders": 0, "revenue": Decimal(0)}
        lines = [line for line in event.data["lines"] if line["sku"] == key[0]]
        return {
            "quantity": row["quantity"] + sum(line["quantity"] for line in lines),
            "orders": row["orders"] + 1,
            "revenue": row["revenue"] + sum(Decimal(line["unit_price"]) * line["quantity"] for line in lines),
        }


class CustomerOrdersProjector(RowProjector):
    name = "customer_orders"
    event_types = ("OrderPlaced", "OrderCancelled", FORGOTTEN_TYPE)
    model, key_fields = CustomerOrders, ("email",)

    def project(self, events: list[RecordedEvent], *, rebuild: Rebuild | None = None) -> None:
        for batch, forgotten in split_at_forgotten(events):
            self._project(batch, rebuild=rebuild)
            if forgotten is not None:
                _forget_customer(forgotten, rebuild=rebuild)

    def _project(self, events: list[RecordedEvent], *, rebuild: Rebuild | None = None) -> None:
        # A cancel names the order, not the customer: the customer is the one of the order's first
        # OrderPlaced before it in the stream. A rebuild has seen every earlier event, so it keeps
        # them in memory; a run reads the streams of the batch's cancels (in the store already).
        remembered = None if rebuild is None else rebuild.memory.setdefault("emails", {})
        if remembered is None:
            cancelled = {f"order-{e.data['order_id']}" for e in events if e.event_type != "OrderPlaced"}
            streams: dict[str, list[RecordedEvent]] = {}
            for event in EventStore().read_streams(sorted(cancelled)):
                streams.setdefault(event.stream_id, []).append(event)
        with_emails = []
        for event in events:
            order_id = event.data["order_id"]
            if event.event_type == "OrderPlaced":
                if remembered is not None:
                    remembered.setdefault(order_id, event.data["customer"]["email"])
                with_emails.append(event)
                continue
            if remembered is not None:
                email = remembered.get(order_id, "")
            else:
                email = _customer_email(streams.get(event.stream_id, []), before=event.version)
            if email:
                with_emails.append(replace(event, data={**event.data, "email": email}))
        super().project(with_emails, rebuild=rebuild)

    def key(self, event: RecordedEvent) -> tuple[str]:
        if event.event_type == "OrderPlaced":
            return (event.data["customer"]["email"],)
        return (event.data["email"],)

    def fold(self, row: dict[str, Any] | None, event: RecordedEvent) -> dict[str, Any]:
        row = row or {"name": "", "orders": 0, "cancelled": 0, "first_order_at": None, "last_order_id": ""}
        if event.event_type == "OrderCancelled":
            row["cancelled"] += 1
            return row
        row.update(
            name=event.data["customer"]["name"],
            orders=row["orders"] + 1,
            first_order_at=row["first_order_at"] or event.recorded_at,
            last_order_at=event.recorded_at,
            last_order_id=event.data["order_id"],
        )
        return row


def _forget_customer(forgotten: RecordedEvent, *, rebuild: Rebuild | None) -> None:
    """The forgotten customer's row (or rows: one per spelling of their email) as one row under
    their erased email, with the same counts."""
    data = forgotten.data
    rows = list(CustomerOrders.objects.filter(last_order_id__in=data["order_ids"]).order_by("last_order_at"))
    if not rows:
        return
    last = rows[-1]
    merged = {
        "name": ERASED,
        "orders": sum(row.orders for row in rows),
        "cancelled": sum(row.cancelled for row in rows),
        "first_order_at": min((r.first_order_at for r in rows if r.first_order_at), default=None),
        "last_order_at": last.last_order_at,
        "last_order_id": last.last_order_id,
    }
    CustomerOrders.objects.filter(email__in=[row.email for row in rows]).delete()
    CustomerOrders.objects.create(email=data["erased_email"], **merged)
    if rebuild is not None:
        rebuild.written.add((data["erased_email"],))
    if rebuild is not None and (remembered := rebuild.memory.get("emails")):
        for order_id in data["order_ids"]:
            if order_id in remembered:
                remembered[order_id] = data["erased_email"]


def _customer_email(stream: list[RecordedEvent], *, before: int) -> str:
    """The customer's email from the stream's first OrderPlaced below version `before` ("" if none)."""
    return next(
        (e.data["customer"]["email"] for e in stream if e.event_type == "OrderPlaced" and e.version < before), ""
    )


PROJECTORS = (OrderSummaryProjector(), SalesByDayProjector(), ProductSalesProjector(), CustomerOrdersProjector())
