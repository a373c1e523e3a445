"""The orders consumer group: shop input becomes order commands; dispatches feed the local cache."""

from __future__ import annotations

from eventstore.consumers import ConsumerGroup, Processed, Rejected, Waiting
from eventstore.repository import Repository
from eventstore.store import EventStore, RecordedEvent, caused_by

from . import adapters
from .domain import DISPATCHED_REASON, CancelOrder, Order, OrderAlreadyPlaced, OrderNotFound, PlaceOrder
from .models import DispatchedOrder
from .service import cancel_order, place_order


def handle(event: RecordedEvent) -> Processed | Rejected | None:
    """Runs inside the consumer group's transaction; the append, if any, is its first write."""
    if event.event_type == "ShopDataReceived":
        return _handle_input(event)
    if event.event_type == "ShipmentDispatched":
        # Another component's event, read as raw data. A repeat changes nothing (ignore_conflicts).
        dispatched = DispatchedOrder(order_id=event.data["order_id"], dispatched_at=event.recorded_at)
        DispatchedOrder.objects.bulk_create([dispatched], ignore_conflicts=True)
    return None


def _handle_input(event: RecordedEvent) -> Processed | Rejected:
    # Raises PermanentFailure for a message that cannot be mapped or whose content is invalid.
    command = adapters.command_for(
        applies=event.metadata.get("applies"),
        source=event.metadata.get("source"),
        body=event.data,
        message_id=str(event.event_id),
        partner=event.metadata.get("partner"),
    )
    if command is None:  # not for orders (the selector keeps such input away)
        return Processed()
    orders = Repository(Order, store=EventStore())
    match command:
        case PlaceOrder():
            try:
                place_order(command, orders=orders, metadata=caused_by(event))
            except OrderAlreadyPlaced as taken:
                return Rejected(str(taken), subject=command.order_id)
        case CancelOrder():
            dispatched = DispatchedOrder.objects.filter(order_id=command.order_id).exists()
            try:
                order = cancel_order(command, orders=orders, dispatched=dispatched, metadata=caused_by(event))
            except OrderNotFound as missing:
                # A cancel ahead of its order waits while orders has earlier messages in hand (the
                # order's among them, if it was sent first); then it is retried, and parked.
                raise Waiting(str(missing)) from missing
            if order.cancellation_rejected and not order.cancelled:
                return Rejected(DISPATCHED_REASON, subject=command.order_id)
    return Processed(subject=command.order_id)


def takes(event: RecordedEvent) -> bool:
    """Input that applies to orders, and every dispatch: the rest is not delivered at all."""
    return event.event_type != "ShopDataReceived" or event.metadata.get("applies") == "order"


GROUP = ConsumerGroup(
    name="orders",
    queue="orders",
    event_types=("ShopDataReceived", "ShipmentDispatched"),
    handler=handle,
    selector=takes,
)
