"""Orders' events to billing's commands: charge a placed order, refund a cancelled one.

`PaymentGatewayUnavailable` and `PaymentNotSettled` propagate: the mechanism retries them later.
"""

from __future__ import annotations

from eventstore.consumers import ConsumerGroup
from eventstore.repository import Repository
from eventstore.store import EventStore, RecordedEvent, caused_by

from .adapters import capture_payment_from_order_placed, refund_payment_from_order_cancelled
from .domain import Payment
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
            refund_payment(command, payments=payments, gateway=payment_gateway(), metadata=caused_by(event))


GROUP = ConsumerGroup(name="billing", queue="billing", event_types=("OrderPlaced", "OrderCancelled"), handler=handle)
