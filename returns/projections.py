"""The returns read model: one row per order's return, folded from its events."""

from typing import Any

from eventstore.projections import RowProjector
from eventstore.store import RecordedEvent

from .models import ReturnRow


class ReturnsProjector(RowProjector):
    name = "returns"
    event_types = ("ReturnRequested", "ReturnRejected", "ReturnReceived")
    model, key_fields = ReturnRow, ("order_id",)

    def key(self, event: RecordedEvent) -> tuple[str]:
        return (event.data["order_id"],)

    def fold(self, row: dict[str, Any] | None, event: RecordedEvent) -> dict[str, Any]:
        row = row or {"status": "requested", "reason": ""}
        at = row["updated_at"] = event.recorded_at  # from the event, never now: a rebuild gives the same row
        match event.event_type:
            case "ReturnRequested":
                row.update(status="requested", reason=event.data["reason"], requested_at=at)
            case "ReturnRejected" if row["status"] != "received":  # a refused second request keeps the return
                row.update(status="rejected", reason=event.data["reason"])
            case "ReturnReceived":
                row.update(status="received", received_at=at)
        return row


PROJECTORS = (ReturnsProjector(),)
