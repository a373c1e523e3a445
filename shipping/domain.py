"""The shipment of one order: requested when its payment is captured, then dispatched and delivered
by the warehouse, or cancelled with the order. Standard library only.

The shipment's id is the order id, so its stream is `shipment-{order_id}`.
"""

from __future__ import annotations

from dataclasses import dataclass

from eventstore.aggregate import Aggregate

# --- values -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Address:
    line1: str
    city: str
    postcode: str
    country: str


@dataclass(frozen=True)
class Line:
    sku: str
    quantity: int


# --- commands -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RequestShipment:
    order_id: str
    address: Address
    lines: tuple[Line, ...]


@dataclass(frozen=True)
class DispatchShipment:
    order_id: str
    carrier: str
    tracking_number: str


@dataclass(frozen=True)
class DeliverShipment:
    order_id: str


@dataclass(frozen=True)
class CancelShipment:
    order_id: str
    reason: str


# --- events -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ShipmentRequested:
    order_id: str
    address: Address
    lines: tuple[Line, ...]


@dataclass(frozen=True)
class ShipmentDispatched:
    order_id: str
    carrier: str
    tracking_number: str


@dataclass(frozen=True)
class ShipmentDelivered:
    order_id: str


@dataclass(frozen=True)
class ShipmentCancelled:
    order_id: str
    reason: str


# --- errors -------------------------------------------------------------------------------------


class NoShipmentRequested(Exception):
    """Transient: a warehouse update came before the shipment was requested (the capture may not be
    handled yet); trying again later may succeed."""

    def __init__(self, order_id: str) -> None:
        self.order_id = order_id
        super().__init__(f"No shipment has been requested for order {order_id!r} yet.")


class ShipmentNotDispatched(Exception):
    """Transient: a delivery came before the dispatch it follows; trying again later may succeed."""

    def __init__(self, order_id: str) -> None:
        self.order_id = order_id
        super().__init__(f"The shipment of order {order_id!r} has not been dispatched yet.")


class ShipmentWasCancelled(Exception):
    """Permanent: the shipment was cancelled, so it can no longer be dispatched or delivered."""

    def __init__(self, order_id: str, action: str) -> None:
        self.order_id = order_id
        self.reason = f"The shipment of order {order_id!r} was cancelled; it cannot be {action}."
        super().__init__(self.reason)


class ShipmentAlreadyLeft(Exception):
    """Permanent: an order was cancelled after its shipment left the warehouse.

    The orders component rejects a cancel after a dispatch it has seen; this is the race it cannot
    see (the dispatch recorded here while orders decided the cancel), and only a person can settle
    it (the goods are on their way, billing has refunded): the cancel is parked with this reason.
    """

    def __init__(self, order_id: str, status: str) -> None:
        self.order_id = order_id
        self.reason = (
            f"Order {order_id!r} was cancelled after its shipment was {status}: the shipment cannot be cancelled."
        )
        super().__init__(self.reason)


# --- the aggregate ------------------------------------------------------------------------------

# The states of a shipment; None until something happened to it.
REQUESTED, DISPATCHED, DELIVERED, CANCELLED = "requested", "dispatched", "delivered", "cancelled"


class Shipment(Aggregate):
    category = "shipment"
    event_types = (ShipmentRequested, ShipmentDispatched, ShipmentDelivered, ShipmentCancelled)

    def __init__(self, aggregate_id: str) -> None:
        super().__init__(aggregate_id)
        self.status: str | None = None

    def request(self, command: RequestShipment) -> None:
        # Requested once. A shipment cancelled before its request (an order cancelled before its
        # payment was captured) stays cancelled: that order must get no shipment.
        if self.status is None:
            self.record(ShipmentRequested(self.id, command.address, tuple(command.lines)))

    def cancel(self, command: CancelShipment) -> None:
        # Cancelling before the request too, so that a later capture requests nothing.
        if self.status in (DISPATCHED, DELIVERED):
            raise ShipmentAlreadyLeft(self.id, self.status)
        if self.status in (None, REQUESTED):
            self.record(ShipmentCancelled(self.id, command.reason))

    def dispatch(self, command: DispatchShipment) -> None:
        if self.status is None:
            raise NoShipmentRequested(self.id)
        if self.status == CANCELLED:
            raise ShipmentWasCancelled(self.id, "dispatched")
        if self.status == REQUESTED:
            self.record(ShipmentDispatched(self.id, command.carrier, command.tracking_number))
        # Dispatched or delivered already: a repeated or late update changes nothing.

    def deliver(self, command: DeliverShipment) -> None:
        if self.status is None:
            raise NoShipmentRequested(self.id)
        if self.status == REQUESTED:
            raise ShipmentNotDispatched(self.id)
        if self.status == CANCELLED:
            raise ShipmentWasCancelled(self.id, "delivered")
        if self.status == DISPATCHED:
            self.record(ShipmentDelivered(self.id))

    def apply(self, event: object) -> None:
        match event:
            case ShipmentRequested():
                self.status = REQUESTED
            case ShipmentDispatched():
                self.status = DISPATCHED
            case ShipmentDelivered():
                self.status = DELIVERED
            case ShipmentCancelled():
                self.status = CANCELLED
