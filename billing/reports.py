"""Staff report generators over billing's read models (never the events): payments by day."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.db.models import Q, Sum

from .models import PaymentsByDay


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


def capture_rate(*, first_day: datetime.date, last_day: datetime.date) -> CaptureRate:
    """Payments captured and declined, recorded from `first_day` to `last_day` (both included, UTC
    days), in one query over at most one row a day and kind."""
    counts = PaymentsByDay.objects.filter(day__gte=first_day, day__lte=last_day).aggregate(
        captured=Sum("payments", filter=Q(kind="captured"), default=0),
        declined=Sum("payments", filter=Q(kind="declined"), default=0),
    )
    return CaptureRate(captured=counts["captured"], declined=counts["declined"])
