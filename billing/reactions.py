"""Orders' events to billing's commands: charge a placed order, refund a cancelled one.

`PaymentGatewayUnavailable` propagates: the mechanism retries it later. A cancel whose order's
charge has no outcome yet (`PaymentNotSettled`: the charge is being retried) waits for billing to
settle that order's `OrderPlaced`, without using up its own retries.
"""

from __future__ import annotations

import uuid

from eventstore.consumers import ConsumerGroup, Waiting
from eventstore.repository import Repository
from eventstore.store import EventStore, RecordedEvent, caused_by

from .adapters import capture_payment_from_order_placed, refund_payment_from_order_cancelled
from .domain import Payment, PaymentNotSettled
from .payment_gateway import payment_gateway
from .service import capture_payment, refund_payment


def handle(event: RecordedEvent) -> None:
    payments = Repository(Payment, store=EventStore())
    match event.event_type:
        case "OrderPlaced":
            command = capture_payment_from_order_placed(event.data)
            capture_payment(command, payments=payments, gateway=payment_gateway(), metadata=caused_by(event))
        case "OrderCancelled":
            command = refund_payment_from_order_cancelled(event.data)
            try:
                refund_payment(command, payments=payments, gateway=payment_gateway(), metadata=caused_by(event))
            except PaymentNotSettled as unsettled:
                raise Waiting(str(unsettled), event_id=_order_placed(command.order_id)) from unsettled


def _order_placed(order_id: str) -> uuid.UUID:
    """The id of the order's OrderPlaced, the first event of its stream (a cancelled order has one)."""
    [placed] = EventStore().read_stream(f"order-{order_id}", limit=1)
    return placed.event_id


GROUP = ConsumerGroup(name="billing", queue="billing", event_types=("OrderPlaced", "OrderCancelled"), handler=handle)
