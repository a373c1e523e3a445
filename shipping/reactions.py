"""Shipping's consumer group: other components' events and warehouse messages -> shipping commands.

Every reaction is idempotent: the shipment's own rules make a repeated command record nothing, and
the cache is an upsert. What comes ahead of what it follows (a capture before its order, a
warehouse update before its shipment's request) waits for the group's earlier messages
(`Waiting`), then is retried and, if still early, parked.
"""

from __future__ import annotations

from eventstore import consumers
from eventstore.consumers import PermanentFailure, Processed, Waiting
from eventstore.store import RecordedEvent, caused_by

from . import adapters, bootstrap, service
from .bootstrap import Dependencies
from .domain import (
    DeliverShipment,
    NoShipmentRequested,
    ShipmentAlreadyLeft,
    ShipmentNotDispatched,
    ShipmentWasCancelled,
)
from .models import PlacedOrder


def on_order_placed(event: RecordedEvent, deps: Dependencies) -> None:
    # An order is placed once: a repeat (ignore_conflicts) keeps the row, in one INSERT statement.
    placed = PlacedOrder(**adapters.placed_order_from_order_placed(event.data))
    PlacedOrder.objects.bulk_create([placed], ignore_conflicts=True)


def on_payment_captured(event: RecordedEvent, deps: Dependencies) -> None:
    order_id = adapters.order_id_of(event.data)
    placed = PlacedOrder.objects.filter(order_id=order_id).first()
    if placed is None:
        # Competing consumers may take the capture before the OrderPlaced it follows.
        raise Waiting(f"Order {order_id!r} is not in shipping's cache of placed orders yet.")
    command = adapters.request_shipment_from_placed_order(
        order_id, shipping_address=placed.shipping_address, lines=placed.lines
    )
    service.request_shipment(command, shipments=deps.shipments, metadata=caused_by(event))


def on_order_cancelled(event: RecordedEvent, deps: Dependencies) -> None:
    command = adapters.cancel_shipment_from_order_cancelled(event.data)
    try:
        service.cancel_shipment(command, shipments=deps.shipments, metadata=caused_by(event))
    except ShipmentAlreadyLeft as conflict:
        raise PermanentFailure(conflict.reason) from conflict


def on_shop_data_received(event: RecordedEvent, deps: Dependencies) -> Processed:
    command = adapters.command_for(
        applies=event.metadata.get("applies"), source=event.metadata.get("source"), body=event.data
    )
    if command is None:
        raise PermanentFailure(f"Not a message for shipping (applies {event.metadata.get('applies')!r}).")
    update = service.deliver_shipment if isinstance(command, DeliverShipment) else service.dispatch_shipment
    try:
        update(command, shipments=deps.shipments, metadata=caused_by(event))
    except (NoShipmentRequested, ShipmentNotDispatched) as early:
        raise Waiting(str(early)) from early
    except ShipmentWasCancelled as rejected:
        raise PermanentFailure(rejected.reason, subject=command.order_id) from rejected
    return Processed(subject=command.order_id)


GROUP = consumers.reacting(
    "shipping",
    {
        "ShopDataReceived": on_shop_data_received,
        "OrderPlaced": on_order_placed,
        "PaymentCaptured": on_payment_captured,
        "OrderCancelled": on_order_cancelled,
    },
    dependencies=bootstrap.build,
    applies="shipment",
)
