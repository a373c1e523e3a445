"""Shipping's read model: the shipments board, one row per shipment. A forgotten customer's
shipments keep their rows, their city erased (CustomerForgotten, eventstore.personal_data)."""

from __future__ import annotations

from typing import Any

from eventstore.personal_data import ERASED, FORGOTTEN_TYPE, split_at_forgotten
from eventstore.projections import Rebuild, RowProjector
from eventstore.store import RecordedEvent

from .models import ShipmentBoardRow


class ShipmentsBoardProjector(RowProjector):
    name = "shipments_board"
    event_types = ("ShipmentRequested", "ShipmentDispatched", "ShipmentDelivered", "ShipmentCancelled", FORGOTTEN_TYPE)
    model, key_fields = ShipmentBoardRow, ("order_id",)

    def project(self, events: list[RecordedEvent], *, rebuild: Rebuild | None = None) -> None:
        for batch, forgotten in split_at_forgotten(events):
            super().project(batch, rebuild=rebuild)
            if forgotten is not None:
                ShipmentBoardRow.objects.filter(order_id__in=forgotten.data["order_ids"]).update(city=ERASED)

    def key(self, event: RecordedEvent) -> tuple[str]:
        return (event.data["order_id"],)

    def fold(self, row: dict[str, Any] | None, event: RecordedEvent) -> dict[str, Any]:
        row = row or {"status": "requested"}
        data, at = event.data, event.recorded_at
        row["updated_at"] = at
        match event.event_type:
            case "ShipmentRequested":
                address = data.get("address") or {}
                row.update(city=address.get("city", ""), country=address.get("country", ""), requested_at=at)
            case "ShipmentDispatched":
                row.update(
                    status="dispatched",
                    carrier=data.get("carrier", ""),
                    tracking_number=data.get("tracking_number", ""),
                    dispatched_at=at,
                )
            case "ShipmentDelivered":
                row.update(status="delivered", delivered_at=at)
            case "ShipmentCancelled":
                row.update(status="cancelled", cancelled_at=at)
        return row


PROJECTORS = (ShipmentsBoardProjector(),)
