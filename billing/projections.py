"""Billing's read model: the payments ledger, one row per payment event."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from eventstore.projections import RowProjector
from eventstore.store import RecordedEvent

from .models import PaymentLedgerEntry

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


PROJECTORS = (PaymentsLedgerProjector(),)
