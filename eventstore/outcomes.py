"""What became of each raw input message: its outcome events (docs/design.md, "Message outcomes").

Every message the gateway stores is a `ShopDataReceived` event in the input stream `shop-input`.
For each such message that a consumer group takes, the group's mechanism records what the group
did with it as an event of the stream `message-{message_id}`, in the same transaction as the
handling, the parking or the staff's replay or skip:

- `MessageProcessed`: the group handled it;
- `MessageRejected`: the group refused it as a business decision (the handler returned
  `Rejected`), or staff skipped it while parked, with the reason;
- `MessageParked`: the group parked it, with the reason;
- `MessageReplayed`: staff replayed it while parked: the group will try it again.

The gateway records `MessageUnroutable` when no group takes a message it stores. Each carries the
message's correlation id, so an order's story shows its messages' outcomes. The outcomes read
model (`gateway.projections`) and the webhooks follow these events.
"""

from __future__ import annotations

from typing import Any

from eventstore.store import ANY, Appended, EventStore, NewEvent, RecordedEvent

INPUT_STREAM = "shop-input"
MESSAGE_TYPE = "ShopDataReceived"
OUTCOME_CATEGORY = "message"

MESSAGE_PROCESSED = "MessageProcessed"
MESSAGE_REJECTED = "MessageRejected"
MESSAGE_PARKED = "MessageParked"
MESSAGE_REPLAYED = "MessageReplayed"
MESSAGE_UNROUTABLE = "MessageUnroutable"
OUTCOME_TYPES = (MESSAGE_PROCESSED, MESSAGE_REJECTED, MESSAGE_PARKED, MESSAGE_REPLAYED, MESSAGE_UNROUTABLE)

#: The status of a message for one group, by the type of its last outcome event.
COMPONENT_STATUS = {
    MESSAGE_PROCESSED: "processed",
    MESSAGE_REJECTED: "rejected",
    MESSAGE_PARKED: "parked",
    MESSAGE_REPLAYED: "pending",
}

SKIPPED_REASON = "Skipped by staff: it will not be processed."


def outcome_stream(message_id: object) -> str:
    return f"{OUTCOME_CATEGORY}-{message_id}"


def is_message(event: RecordedEvent | Appended) -> bool:
    """Whether the event is a raw input message, whose sender is owed an outcome."""
    return event.stream_id == INPUT_STREAM


def record(
    message: RecordedEvent,
    event_type: str,
    *,
    component: str,
    subject: str | None = None,
    reason: str | None = None,
    store: EventStore | None = None,
) -> None:
    """Append the outcome `event_type` of `message` for the group `component` (inside the caller's
    transaction, as its first append or after the handler's)."""
    data: dict[str, Any] = {
        "message_id": str(message.event_id),
        "component": component,
        "partner": message.metadata.get("partner"),
        "order_id": subject,
    }
    if reason is not None:
        data["reason"] = reason
    metadata = {"correlation_id": message.correlation_id, "causation_id": str(message.event_id)}
    (store or EventStore()).append(outcome_stream(message.event_id), [NewEvent(event_type, data, metadata)], ANY)


def unroutable(message: NewEvent) -> NewEvent:
    """The `MessageUnroutable` event for a message no group takes (the gateway appends it)."""
    data = {
        "message_id": str(message.event_id),
        "partner": message.metadata.get("partner"),
        "applies": message.metadata.get("applies"),
    }
    metadata = {"correlation_id": str(message.event_id), "causation_id": str(message.event_id)}
    return NewEvent(MESSAGE_UNROUTABLE, data, metadata)
