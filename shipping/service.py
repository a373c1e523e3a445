"""One function per shipping command: load the shipment, decide, save with the expected version.

Conflicts are not retried here: the caller's transaction is retried whole (the consumer-group
mechanism does this for reactions).
"""

from __future__ import annotations

from typing import Any

from eventstore.repository import Repository

from .domain import CancelShipment, DeliverShipment, DispatchShipment, RequestShipment, Shipment


def request_shipment(command: RequestShipment, *, shipments: Repository[Shipment], metadata: dict[str, Any]) -> None:
    shipment = shipments.load(command.order_id)
    shipment.request(command)
    shipments.save(shipment, metadata=metadata)


def dispatch_shipment(command: DispatchShipment, *, shipments: Repository[Shipment], metadata: dict[str, Any]) -> None:
    shipment = shipments.load(command.order_id)
    shipment.dispatch(command)
    shipments.save(shipment, metadata=metadata)


def deliver_shipment(command: DeliverShipment, *, shipments: Repository[Shipment], metadata: dict[str, Any]) -> None:
    shipment = shipments.load(command.order_id)
    shipment.deliver(command)
    shipments.save(shipment, metadata=metadata)


def cancel_shipment(command: CancelShipment, *, shipments: Repository[Shipment], metadata: dict[str, Any]) -> None:
    shipment = shipments.load(command.order_id)
    shipment.cancel(command)
    shipments.save(shipment, metadata=metadata)
