"""The message outcomes read model: what became of each raw message (docs/design.md, "Message
outcomes"), from the log alone, so a rebuild gives the same rows.

A message's row starts when the gateway stores it, with a `pending` entry for each consumer group
that takes it (none: `unroutable`), and follows the outcome events the groups record
(`eventstore.outcomes`). Which groups take a message is asked of the registry when its
`ShopDataReceived` is projected: a component installed later takes old messages too, and a rebuild
then lists it.
"""

from __future__ import annotations

import uuid
from typing import Any

from eventstore import consumers, outcomes
from eventstore.projections import RowProjector
from eventstore.store import EventStore, RecordedEvent

from .models import MessageOutcome

#: Which component status decides the message's, first to last; with none of them, it is processed.
_PRECEDENCE = ("parked", "rejected", "pending")


def message_status(components: list[dict[str, Any]]) -> str:
    """The message's status from its components' (the design's order: parked, rejected, pending, processed)."""
    if not components:
        return "unroutable"
    statuses = {component["status"] for component in components}
    return next((status for status in _PRECEDENCE if status in statuses), "processed")


class MessageOutcomesProjector(RowProjector):
    name = "message_outcomes"
    event_types = (outcomes.MESSAGE_TYPE, *outcomes.OUTCOME_TYPES)
    model, key_fields = MessageOutcome, ("message_id",)

    def key(self, event: RecordedEvent) -> tuple[uuid.UUID] | None:
        if event.event_type == outcomes.MESSAGE_TYPE:
            return (event.event_id,) if outcomes.is_message(event) else None
        return (uuid.UUID(event.data["message_id"]),)

    def fold(self, row: dict[str, Any] | None, event: RecordedEvent) -> dict[str, Any]:
        row = row or _new_row(event)
        row["updated_at"] = event.recorded_at
        if event.event_type == outcomes.MESSAGE_TYPE:
            row["components"] = [_component(group.name, "pending") for group in consumers.takers(event)]
        elif event.event_type in outcomes.COMPONENT_STATUS:
            data = event.data
            status = outcomes.COMPONENT_STATUS[event.event_type]
            entry = _component(data["component"], status, at=event.recorded_at.isoformat(), reason=data.get("reason"))
            others = [c for c in row["components"] if c["name"] != data["component"]]
            row["components"] = [*others, entry]
            row["order_id"] = data.get("order_id") or row["order_id"]
        row["status"] = message_status(row["components"])
        return row


def _new_row(event: RecordedEvent) -> dict[str, Any]:
    metadata = event.metadata if event.event_type == outcomes.MESSAGE_TYPE else {}
    return {
        "partner": metadata.get("partner") or event.data.get("partner") or "",
        "applies": metadata.get("applies") or event.data.get("applies") or "",
        "source": metadata.get("source") or "",
        "received_at": event.recorded_at,
        "components": [],
        "order_id": "",
    }


def _component(name: str, status: str, *, at: str | None = None, reason: str | None = None) -> dict[str, Any]:
    return {"name": name, "status": status, "at": at, "reason": reason}


def not_projected_yet(message_id: uuid.UUID) -> MessageOutcome | None:
    """The outcome of a stored message whose row the projector has not written yet (just accepted:
    the 202's Location is read at once), folded from the message as the projector will; None when
    there is no such message. Nothing is saved."""
    message = EventStore().get(message_id)
    if message is None or not outcomes.is_message(message):
        return None
    return MessageOutcome(message_id=message_id, **MessageOutcomesProjector().fold(None, message))


PROJECTORS = (MessageOutcomesProjector(),)
