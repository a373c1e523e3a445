"""Raw shop-input messages and shipping's events -> returns commands and facts (docs/design.md 6.8).
Content that can never become a command is parked (`PermanentFailure`, with the reason)."""

from typing import Any

from eventstore.consumers import PermanentFailure

from .domain import ReceiveReturn, RequestReturn

MAX_ORDER_ID_LENGTH = 100
MAX_REASON_LENGTH = 200  # the read model's column


def command_for_message(message: Any) -> RequestReturn | ReceiveReturn:
    """The command of a raw input message (a RecordedEvent) that applies to returns."""
    body = message.data
    order_id = _text(body, "order_id", MAX_ORDER_ID_LENGTH)
    if message.metadata.get("source") != "warehouse":
        return RequestReturn(order_id=order_id, reason=_text(body, "reason", MAX_REASON_LENGTH))
    if (status := body.get("status")) != "received":
        raise PermanentFailure(f"Unknown warehouse status {status!r} for a return; expected 'received'.")
    return ReceiveReturn(order_id=order_id)


def delivered(shipment_events: list[Any]) -> bool:
    """Whether shipping's events of an order (`shipment-{order_id}`) say the goods reached the customer."""
    return any(event.event_type == "ShipmentDelivered" for event in shipment_events)


def _text(body: dict[str, Any], name: str, longest: int) -> str:
    """A required, non-empty string field of the message."""
    value = body.get(name)
    if not isinstance(value, str) or not value.strip():
        raise PermanentFailure(f"Field {name!r} must be a non-empty string.")
    if len(value) > longest:
        raise PermanentFailure(f"Field {name!r} is longer than {longest} characters.")
    return value
