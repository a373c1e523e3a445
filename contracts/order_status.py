"""An order's status, as the read models and the webhooks publish it: the values and how each
domain event moves it. Standard library only: it is the published language of the order's status,
which the order summary's projector and the webhooks component both follow.
"""

from __future__ import annotations

#: An order's statuses, in the order an order goes through them.
ORDER_STATUSES = (
    "placed",
    "paid",
    "payment_declined",
    "dispatched",
    "delivered",
    "cancelled",
    "return_requested",
    "returned",
)
#: The statuses of an order a cancel can still stop: not dispatched yet, nor cancelled (after a
#: dispatch the orders component rejects a cancel).
CANCELLABLE_STATUSES = ORDER_STATUSES[: ORDER_STATUSES.index("dispatched")]
#: Past the warehouse: nothing the shipment does moves the order back.
_SHIPPED = frozenset({"dispatched", "delivered", "return_requested", "returned"})

#: The status each event moves an order to, and the statuses it does not move an order from.
_MOVES: dict[str, tuple[str, frozenset[str]]] = {
    "OrderPlaced": ("placed", frozenset(ORDER_STATUSES)),  # only a new order becomes placed
    "OrderCancelled": ("cancelled", frozenset()),
    "PaymentCaptured": ("paid", frozenset({"cancelled"}) | _SHIPPED),
    "PaymentDeclined": ("payment_declined", frozenset({"cancelled"})),
    "ShipmentDispatched": ("dispatched", frozenset({"cancelled"}) | _SHIPPED - {"dispatched"}),
    "ShipmentDelivered": ("delivered", frozenset({"cancelled", "return_requested", "returned"})),
    # The returns component asks for a return of a delivered order only, and receives a requested one.
    "ReturnRequested": ("return_requested", frozenset(ORDER_STATUSES) - {"delivered"}),
    "ReturnReceived": ("returned", frozenset(ORDER_STATUSES) - {"delivered", "return_requested"}),
}

#: The event types that can change an order's status.
STATUS_EVENT_TYPES = tuple(_MOVES)


def status_after(status: str | None, event_type: str) -> str | None:
    """The order's status after an event of `event_type` (`status`: before it, None for an order
    not placed yet; a new order's is "placed"). Events that do not move the status leave it as
    it was."""
    new, unless = _MOVES.get(event_type, (status, frozenset()))
    return status if status in unless else new
