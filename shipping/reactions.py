"""Shipping's consumer group: other components' events and warehouse messages -> shipping commands.

Other components' events are read as raw JSON (`RecordedEvent.data`), never through their classes.
Every handler is idempotent: the shipment's own rules make a repeated command record nothing, and
the cache is an upsert.
"""

from __future__ import annotations

from collections.abc import Callable

from eventstore.consumers import ConsumerGroup, PermanentFailure, Processed
from eventstore.repository import Repository
from eventstore.store import EventStore, RecordedEvent, caused_by

from . import adapters, service
from .domain import (
    Address,
    CancelShipment,
    DeliverShipment,
    DispatchShipment,
    Line,
    RequestShipment,
    Shipment,
    ShipmentAlreadyLeft,
    ShipmentWasCancelled,
)
from .models import PlacedOrder


class PlacedOrderNotCached(Exception):
    """Transient: a payment was captured for an order whose OrderPlaced is not handled yet."""

    def __init__(self, order_id: str) -> None:
        self.order_id = order_id
        super().__init__(f"Order {order_id!r} is not in shipping's cache of placed orders yet.")


def handle(event: RecordedEvent) -> Processed | None:
    """Handle one event of the group (inside the mechanism's transaction)."""
    reaction = REACTIONS.get(event.event_type)
    return None if reaction is None else reaction(event)


def on_order_placed(event: RecordedEvent) -> None:
    # Keep only what a shipment needs; OrderPlaced is the orders component's validated event.
    # An order is placed once: a repeat (ignore_conflicts) keeps the row, in one INSERT statement.
    address = event.data["shipping_address"]
    placed = PlacedOrder(
        order_id=event.data["order_id"],
        shipping_address={key: address[key] for key in ("line1", "city", "postcode", "country")},
        lines=[{"sku": line["sku"], "quantity": line["quantity"]} for line in event.data["lines"]],
    )
    PlacedOrder.objects.bulk_create([placed], ignore_conflicts=True)


def on_payment_captured(event: RecordedEvent) -> None:
    order_id = event.data["order_id"]
    placed = PlacedOrder.objects.filter(order_id=order_id).first()
    if placed is None:
        # Competing consumers may take the capture before the OrderPlaced it follows: retry later.
        raise PlacedOrderNotCached(order_id)
    command = RequestShipment(
        order_id=order_id,
        address=Address(**placed.shipping_address),
        lines=tuple(Line(sku=line["sku"], quantity=line["quantity"]) for line in placed.lines),
    )
    service.request_shipment(command, shipments=_shipments(), metadata=caused_by(event))


def on_order_cancelled(event: RecordedEvent) -> None:
    command = CancelShipment(order_id=event.data["order_id"], reason=event.data["reason"])
    try:
        service.cancel_shipment(command, shipments=_shipments(), metadata=caused_by(event))
    except ShipmentAlreadyLeft as conflict:
        raise PermanentFailure(conflict.reason) from conflict


def on_shop_data_received(event: RecordedEvent) -> Processed:
    command = adapters.command_for(
        applies=event.metadata.get("applies"), source=event.metadata.get("source"), body=event.data
    )
    try:
        if isinstance(command, DispatchShipment):
            service.dispatch_shipment(command, shipments=_shipments(), metadata=caused_by(event))
        elif isinstance(command, DeliverShipment):
            service.deliver_shipment(command, shipments=_shipments(), metadata=caused_by(event))
    except ShipmentWasCancelled as rejected:
        raise PermanentFailure(rejected.reason, subject=command.order_id) from rejected
    return Processed(subject=None if command is None else command.order_id)


def _shipments() -> Repository[Shipment]:
    return Repository(Shipment, store=EventStore())


REACTIONS: dict[str, Callable[[RecordedEvent], Processed | None]] = {
    "ShopDataReceived": on_shop_data_received,
    "OrderPlaced": on_order_placed,
    "PaymentCaptured": on_payment_captured,
    "OrderCancelled": on_order_cancelled,
}


def takes(event: RecordedEvent) -> bool:
    """Input that applies to shipments, and the other components' events: the rest is not delivered."""
    return event.event_type != "ShopDataReceived" or event.metadata.get("applies") == "shipment"


GROUP = ConsumerGroup(name="shipping", queue="shipping", event_types=tuple(REACTIONS), handler=handle, selector=takes)
