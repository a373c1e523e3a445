"""The orders consumer group: shop input becomes order commands; dispatches feed the local cache."""

from __future__ import annotations

from eventstore import consumers
from eventstore.consumers import Processed, Rejected, Waiting
from eventstore.store import RecordedEvent, caused_by

from . import adapters, bootstrap
from .bootstrap import Dependencies
from .domain import DISPATCHED_REASON, CancelOrder, OrderAlreadyPlaced, OrderNotFound, PlaceOrder
from .models import DispatchedOrder
from .service import cancel_order, place_order


def on_shop_data_received(event: RecordedEvent, deps: Dependencies) -> Processed | Rejected:
    """Runs inside the consumer group's transaction; the append, if any, is its first write."""
    command = adapters.command_for_message(event)  # PermanentFailure: it can never be an order command
    match command:
        case PlaceOrder():
            try:
                place_order(command, orders=deps.orders, metadata=caused_by(event))
            except OrderAlreadyPlaced as taken:
                return Rejected(str(taken), subject=command.order_id)
        case CancelOrder():
            dispatched = DispatchedOrder.objects.filter(order_id=command.order_id).exists()
            try:
                order = cancel_order(command, orders=deps.orders, dispatched=dispatched, metadata=caused_by(event))
            except OrderNotFound as missing:
                # A cancel ahead of its order waits while orders has earlier messages in hand (the
                # order's among them, if it was sent first); then it is retried, and parked.
                raise Waiting(str(missing)) from missing
            if order.cancellation_rejected and not order.cancelled:
                return Rejected(DISPATCHED_REASON, subject=command.order_id)
    return Processed(subject=command.order_id)


def on_shipment_dispatched(event: RecordedEvent, deps: Dependencies) -> None:
    # Another component's event, read as raw data. A repeat changes nothing (ignore_conflicts).
    dispatched = DispatchedOrder(order_id=adapters.order_id_of(event.data), dispatched_at=event.recorded_at)
    DispatchedOrder.objects.bulk_create([dispatched], ignore_conflicts=True)


GROUP = consumers.reacting(
    "orders",
    {"ShopDataReceived": on_shop_data_received, "ShipmentDispatched": on_shipment_dispatched},
    dependencies=bootstrap.build,
    applies="order",
)
