"""Raw shop-input messages and other components' events -> shipping commands (the anti-corruption
layer). Other components' events are read as raw JSON (`RecordedEvent.data`), never through their
classes.

Only the warehouse speaks to shipping: `{"applies": "shipment", "source": "warehouse", "order_id",
"status": "dispatched" | "delivered", "carrier", "tracking_number"}`. Content that can never become a
command raises `PermanentFailure` with the reason, so the message is parked rather than retried.
"""

from __future__ import annotations

from typing import Any

from eventstore.consumers import PermanentFailure

from .domain import Address, CancelShipment, DeliverShipment, DispatchShipment, Line, RequestShipment

MAX_ORDER_ID_LENGTH = 100
# The carrier and tracking number are shown from the read models' 200-character columns; a longer
# one would stop their projectors at that event.
MAX_TEXT_LENGTH = 200


def placed_order_from_order_placed(data: dict[str, Any]) -> dict[str, Any]:
    """OrderPlaced (the orders component's validated event) -> what shipping keeps of it: the fields
    of its cache of placed orders (models.PlacedOrder)."""
    address = data["shipping_address"]
    return {
        "order_id": data["order_id"],
        "shipping_address": {key: address[key] for key in ("line1", "city", "postcode", "country")},
        "lines": [{"sku": line["sku"], "quantity": line["quantity"]} for line in data["lines"]],
    }


def request_shipment_from_placed_order(order_id: str, *, shipping_address: dict, lines: list) -> RequestShipment:
    """A captured payment's order, as shipping cached it when it was placed."""
    return RequestShipment(
        order_id=order_id,
        address=Address(**shipping_address),
        lines=tuple(Line(sku=line["sku"], quantity=line["quantity"]) for line in lines),
    )


def order_id_of(data: dict[str, Any]) -> str:
    """The order of another component's event about one (PaymentCaptured)."""
    return data["order_id"]


def cancel_shipment_from_order_cancelled(data: dict[str, Any]) -> CancelShipment:
    """OrderCancelled: {"order_id", "reason"}."""
    return CancelShipment(order_id=data["order_id"], reason=data["reason"])


def command_for(*, applies: str, source: str, body: dict[str, Any]) -> DispatchShipment | DeliverShipment | None:
    """The command a shop-input message asks of shipping, or None when it is not for shipping."""
    if applies != "shipment":
        return None
    if source != "warehouse":
        raise PermanentFailure(f"Unknown source {source!r} for a shipment update; only 'warehouse' is understood.")
    return from_warehouse(body)


def from_warehouse(body: dict[str, Any]) -> DispatchShipment | DeliverShipment:
    """A warehouse status update."""
    order_id = _text(body, "order_id")
    if len(order_id) > MAX_ORDER_ID_LENGTH:
        raise PermanentFailure(f"Field 'order_id' is longer than {MAX_ORDER_ID_LENGTH} characters.")
    status = _text(body, "status")
    if status == "dispatched":
        return DispatchShipment(
            order_id=order_id, carrier=_text(body, "carrier"), tracking_number=_text(body, "tracking_number")
        )
    if status == "delivered":
        # The carrier and tracking number were given at dispatch; a delivery does not need them.
        return DeliverShipment(order_id=order_id)
    raise PermanentFailure(f"Unknown warehouse status {status!r}; expected 'dispatched' or 'delivered'.")


def _text(body: dict[str, Any], name: str) -> str:
    """A required, non-empty string field of the message."""
    if name not in body:
        raise PermanentFailure(f"Missing field {name!r} in the warehouse message.")
    value = body[name]
    if not isinstance(value, str):
        raise PermanentFailure(f"Field {name!r} must be a string, not {type(value).__name__}.")
    if not value.strip():
        raise PermanentFailure(f"Field {name!r} must not be empty.")
    if len(value) > MAX_TEXT_LENGTH:
        raise PermanentFailure(f"Field {name!r} is longer than {MAX_TEXT_LENGTH} characters.")
    return value
