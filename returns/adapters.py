"""Raw shop-input messages and other components' events -> returns commands. The two messages'
shapes are in docs/design.md 6.8; content that can never become a command is parked
(`PermanentFailure`, with the reason). Shipping's ShipmentDelivered is read as raw JSON."""

from __future__ import annotations

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


def delivered_order_id(data: dict[str, Any]) -> str:
    """ShipmentDelivered: {"order_id"}."""
    return data["order_id"]


def _text(body: dict[str, Any], name: str, longest: int) -> str:
    """A required, non-empty string field of the message."""
    value = body.get(name)
    if not isinstance(value, str) or not value.strip():
        raise PermanentFailure(f"Field {name!r} must be a non-empty string.")
    if len(value) > longest:
        raise PermanentFailure(f"Field {name!r} is longer than {longest} characters.")
    return value
