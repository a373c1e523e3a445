"""Raw shop-input messages and other components' events -> returns commands (docs/design.md 6.8).

- The customer asks (from the web, or any source the partner may use): `{"applies": "return",
  "source": "web", "profile": "customer", "order_id", "reason"}`.
- The warehouse says the goods came back: `{"applies": "return", "source": "warehouse", "profile":
  "warehouse", "order_id", "status": "received"}`.

Content that can never become a command raises `PermanentFailure` with the reason: the message is
parked. Shipping's ShipmentDelivered is read as raw JSON.
"""

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
    status = body.get("status")
    if status != "received":
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
