"""Other components' events to billing's commands: charge a placed order, refund a cancelled one
and a returned one (once per order, whichever comes).

`PaymentGatewayUnavailable` propagates: the mechanism retries it later. A cancel whose order's
charge has no outcome yet (`PaymentNotSettled`: the charge is being retried) waits for billing to
settle that order's `OrderPlaced`, without using up its own retries.
"""

from __future__ import annotations

from eventstore import consumers
from eventstore.consumers import Waiting
from eventstore.store import RecordedEvent, caused_by

from . import adapters, bootstrap
from .bootstrap import Dependencies
from .domain import PaymentNotSettled, RefundPayment
from .service import capture_payment, refund_payment


def on_order_placed(event: RecordedEvent, deps: Dependencies) -> None:
    command = adapters.capture_payment_from_order_placed(event.data)
    capture_payment(command, payments=deps.payments, gateway=deps.gateway, metadata=caused_by(event))


def on_order_cancelled(event: RecordedEvent, deps: Dependencies) -> None:
    _refund(adapters.refund_payment_from_order_cancelled(event.data), event, deps)


def on_return_received(event: RecordedEvent, deps: Dependencies) -> None:
    _refund(adapters.refund_payment_from_return_received(event.data), event, deps)


def _refund(command: RefundPayment, event: RecordedEvent, deps: Dependencies) -> None:
    try:
        refund_payment(command, payments=deps.payments, gateway=deps.gateway, metadata=caused_by(event))
    except PaymentNotSettled as unsettled:
        # The order's OrderPlaced is the first event of its stream (a cancelled order has one).
        [placed] = deps.store.read_stream(f"order-{command.order_id}", limit=1)
        raise Waiting(str(unsettled), event_id=placed.event_id) from unsettled


GROUP = consumers.reacting(
    "billing",
    {"OrderPlaced": on_order_placed, "OrderCancelled": on_order_cancelled, "ReturnReceived": on_return_received},
    dependencies=bootstrap.build,
)
