"""The returns consumer group: customers' requests and the warehouse's receipts become returns
commands; deliveries feed the local cache a request is decided on."""

from __future__ import annotations

from eventstore import consumers
from eventstore.consumers import Processed, Rejected, Waiting
from eventstore.store import RecordedEvent, caused_by

from . import adapters, bootstrap, service
from .bootstrap import Dependencies
from .domain import ReceiveReturn, ReturnNotRequested
from .models import DeliveredOrder


def on_shop_data_received(event: RecordedEvent, deps: Dependencies) -> Processed | Rejected:
    command = adapters.command_for_message(event)
    if isinstance(command, ReceiveReturn):
        try:
            service.receive_return(command, returns=deps.returns, metadata=caused_by(event))
        except ReturnNotRequested as early:
            raise Waiting(str(early)) from early  # the request may be in hand still; then parked
        return Processed(subject=command.order_id)
    delivered = DeliveredOrder.objects.filter(order_id=command.order_id).exists()
    if not delivered:
        # The delivery may have come before the request and not be handled yet: decide after it.
        consumers.wait_for_earlier(GROUP, event)
    refused = service.request_return(command, returns=deps.returns, delivered=delivered, metadata=caused_by(event))
    return Processed(subject=command.order_id) if refused is None else Rejected(refused, subject=command.order_id)


def on_shipment_delivered(event: RecordedEvent, deps: Dependencies) -> None:
    # A repeat changes nothing (ignore_conflicts).
    delivered = DeliveredOrder(order_id=adapters.delivered_order_id(event.data), delivered_at=event.recorded_at)
    DeliveredOrder.objects.bulk_create([delivered], ignore_conflicts=True)


GROUP = consumers.reacting(
    "returns",
    {"ShopDataReceived": on_shop_data_received, "ShipmentDelivered": on_shipment_delivered},
    dependencies=bootstrap.build,
    applies="return",
)
