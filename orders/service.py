"""One function per order command: load the order, decide, save with the expected version."""

from __future__ import annotations

from typing import Any

from eventstore.repository import Repository

from .domain import CancelOrder, Order, PlaceOrder


def place_order(command: PlaceOrder, *, orders: Repository[Order], metadata: dict[str, Any]) -> None:
    order = orders.load(command.order_id)
    order.place(command)
    orders.save(order, metadata=metadata)


def cancel_order(
    command: CancelOrder, *, orders: Repository[Order], dispatched: bool, metadata: dict[str, Any]
) -> Order:
    """`dispatched`: whether orders' cache has seen the shipment leave (see models.DispatchedOrder).
    Returns the order as it is now: cancelled, or its cancellation rejected."""
    order = orders.load(command.order_id)
    order.cancel(command, dispatched=dispatched)
    orders.save(order, metadata=metadata)
    return order
