"""Staff report generators over billing's read model, the payments ledger (never the events)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.db.models import Count, Q

from .models import PaymentLedgerEntry


@dataclass(frozen=True)
class CaptureRate:
    """Charges captured and declined in a range; refunds are not attempts and are not counted."""

    captured: int
    declined: int

    @property
    def attempts(self) -> int:
        return self.captured + self.declined

    @property
    def rate(self) -> float | None:
        """captured / (captured + declined), or None when there was no attempt."""
        return self.captured / self.attempts if self.attempts else None


def capture_rate(*, start: datetime.datetime, end: datetime.datetime) -> CaptureRate:
    """Payments captured and declined, recorded in `[start, end)`, in one query."""
    counts = PaymentLedgerEntry.objects.filter(recorded_at__gte=start, recorded_at__lt=end).aggregate(
        captured=Count("event_id", filter=Q(kind="captured")),
        declined=Count("event_id", filter=Q(kind="declined")),
    )
    return CaptureRate(captured=counts["captured"], declined=counts["declined"])
