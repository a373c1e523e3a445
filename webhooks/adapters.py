"""Other components' events, read as raw JSON, as the webhooks component needs them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class OrderEvent:
    """An event that may change an order's status: the order, and the partner named by its
    OrderPlaced (other events name none: "")."""

    order_id: str
    partner: str


@dataclass(frozen=True)
class MessageOutcome:
    """A message's outcome (MessageRejected, MessageParked, MessageUnroutable) its sender is told of."""

    message_id: str
    partner: str
    order_id: str
    data: dict[str, Any]


def order_event(data: dict[str, Any]) -> OrderEvent:
    return OrderEvent(order_id=data["order_id"], partner=data.get("partner") or "")


def message_outcome(data: dict[str, Any]) -> MessageOutcome:
    return MessageOutcome(
        message_id=data["message_id"],
        partner=data.get("partner") or "",
        order_id=data.get("order_id") or "",
        data=dict(data),
    )
