"""Billing's read models: the payments ledger, one row per payment event, and payments per day."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from eventstore.projections import RowProjector
from eventstore.store import RecordedEvent

from .models import PaymentLedgerEntry, PaymentsByDay

_KINDS = {"PaymentCaptured": "captured", "PaymentDeclined": "declined", "PaymentRefunded": "refunded"}


class PaymentsLedgerProjector(RowProjector):
    name = "payments_ledger"
    event_types = tuple(_KINDS)
    model, key_fields = PaymentLedgerEntry, ("event_id",)

    def key(self, event: RecordedEvent) -> tuple:
        return (event.event_id,)

    def fold(self, row: dict[str, Any] | None, event: RecordedEvent) -> dict[str, Any]:
        data = event.data
        return {
            "order_id": data["order_id"],
            "kind": _KINDS[event.event_type],
            "amount": Decimal(data["amount"]) if "amount" in data else None,
            "currency": data.get("currency", ""),
            "provider_ref": data.get("provider_ref", ""),
            "reason": data.get("reason", ""),
            "recorded_at": event.recorded_at,
        }


class PaymentsByDayProjector(RowProjector):
    """Payment events counted per day (of `recorded_at`, UTC) and kind, for the capture rate report."""

    name = "payments_by_day"
    event_types = tuple(_KINDS)
    model, key_fields = PaymentsByDay, ("day", "kind")

    def key(self, event: RecordedEvent) -> tuple:
        return (event.recorded_at.date(), _KINDS[event.event_type])

    def fold(self, row: dict[str, Any] | None, event: RecordedEvent) -> dict[str, Any]:
        return {"payments": (row["payments"] if row else 0) + 1}


PROJECTORS = (PaymentsLedgerProjector(), PaymentsByDayProjector())
