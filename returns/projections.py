"""The returns read model: one row per order's return, folded from its events."""

from __future__ import annotations

from typing import Any

from eventstore.projections import RowProjector
from eventstore.store import RecordedEvent

from .models import ReturnRow


class ReturnProjector(RowProjector):
    name = "returns"
    event_types = ("ReturnOpened",)
    model, key_fields = ReturnRow, ("order_id",)

    def key(self, event: RecordedEvent) -> tuple[str]:
        return (event.data["order_id"],)

    def fold(self, row: dict[str, Any] | None, event: RecordedEvent) -> dict[str, Any]:
        row = row or {}
        row["updated_at"] = event.recorded_at  # from the event, never now: a rebuild gives the same row
        match event.event_type:
            case "ReturnOpened":
                row.update(status="opened", note=event.data["note"])
        return row


PROJECTORS = (ReturnProjector(),)
