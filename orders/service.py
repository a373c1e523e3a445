"""One function per order command: load the order, decide, save with the expected version."""

from __future__ import annotations

from typing import Any

from eventstore import personal_data
from eventstore.repository import Repository

from .domain import CancelOrder, Order, PlaceOrder

#: The permission staff need to forget a customer from the admin.
FORGET_PERMISSION = "orders.forget_customer"


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


def forget_customer(email: str, *, metadata: dict[str, Any] | None = None) -> personal_data.Forgotten:
    """Forget the customer of `email` (docs/design.md, "Personal data"): their keys destroyed and
    `CustomerForgotten` recorded, in one transaction; the projectors then anonymise the read models.
    `metadata`: who asked (the admin's user), for the event's metadata. Raises
    `personal_data.UnknownCustomer` when nothing is held about them; a customer forgotten before,
    with no order since, is forgotten already (`recorded` False)."""
    return personal_data.forget(email, metadata=metadata)


def export_customer(email: str) -> dict[str, Any]:
    """All that is held about the customer of `email`, as JSON values (the right of access)."""
    return personal_data.export(email)
