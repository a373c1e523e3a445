"""The day-level read models the staff reports read instead of a range's order summaries (a year
is about 215,000 of them with a million events; these are a few thousand rows).

The order summary's projector keeps them (orders.projections): each batch it writes moves every
changed order's contribution here, from its row before the batch to its row after
(`RowProjector.rows_written`).

- `OrdersPlacedByStatus`: per day an order was placed and the status it has now, how many orders.
  Exact: the same counts as grouping the order summaries placed on those days by status.
- `LeadTimesByDay`: per day placed and lead-time bucket (placed to dispatched), how many orders
  and the sum of their leads. Buckets are BUCKETS_PER_DOUBLING to a doubling of the lead, from 1
  second (about 19 % wide); bucket 0 holds leads under a second. `orders.reports.lead_time_on_days`
  reads its percentiles from them.

Both are sums, so a change is an addition and any order of batches comes to the same rows (R17); a
row whose count falls to 0 is deleted, as a rebuild would never have written it.

Days are UTC days of `placed_at`, as the sales by day's are of OrderPlaced's `recorded_at`.
"""

from __future__ import annotations

import datetime
import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from django.db import connections, router

from .models import LeadTimesByDay, OrdersPlacedByStatus

BUCKETS_PER_DOUBLING = 4


def lead_bucket(lead: datetime.timedelta) -> int:
    """The bucket of a lead time: 0 under a second, then BUCKETS_PER_DOUBLING a doubling."""
    seconds = lead.total_seconds()
    return 0 if seconds < 1 else 1 + math.floor(BUCKETS_PER_DOUBLING * math.log2(seconds))


def microseconds(lead: datetime.timedelta) -> int:
    return (lead.days * 86400 + lead.seconds) * 1_000_000 + lead.microseconds


@dataclass
class DayChanges:
    """What a batch of folded events changes in the day-level read models."""

    statuses: Counter[tuple[datetime.date, str]] = field(default_factory=Counter)
    #: (day, bucket) -> [orders, sum of their leads in microseconds]
    leads: dict[tuple[datetime.date, int], list[int]] = field(default_factory=dict)

    def remove(self, summary: dict[str, Any] | None) -> None:
        """Take out the contribution of an order's summary row (as it was before an event)."""
        self._count(summary, -1)

    def add(self, summary: dict[str, Any]) -> None:
        """Put in the contribution of an order's summary row (as it is after the event)."""
        self._count(summary, +1)

    def _count(self, summary: dict[str, Any] | None, sign: int) -> None:
        placed_at = summary and summary.get("placed_at")
        if not placed_at:
            return  # an order known only from later events is in no report (nor in the summaries' ranges)
        day = placed_at.astimezone(datetime.UTC).date()
        self.statuses[(day, summary["status"])] += sign
        if (dispatched_at := summary.get("dispatched_at")) is None:
            return
        lead = dispatched_at - placed_at
        entry = self.leads.setdefault((day, lead_bucket(lead)), [0, 0])
        entry[0] += sign
        entry[1] += sign * microseconds(lead)

    def apply(self) -> None:
        """Add the changes to the read models' rows (inside the projector's transaction)."""
        connection = connections[router.db_for_write(OrdersPlacedByStatus)]
        day = connection.ops.adapt_datefield_value
        statuses = [(day(d), status, n) for (d, status), n in self.statuses.items() if n]
        leads = [(day(d), bucket, n, total) for (d, bucket), (n, total) in self.leads.items() if n or total]
        if statuses:
            with connection.cursor() as cursor:
                cursor.executemany(
                    _upsert_sql(connection, OrdersPlacedByStatus, ("day", "status"), ("orders",)), statuses
                )
        if leads:
            with connection.cursor() as cursor:
                cursor.executemany(
                    _upsert_sql(connection, LeadTimesByDay, ("day", "bucket"), ("orders", "total")), leads
                )
        fallen = {d for (d, _), n in self.statuses.items() if n < 0} | {
            d for (d, _), (n, _) in self.leads.items() if n < 0
        }
        if fallen:
            OrdersPlacedByStatus.objects.filter(day__in=fallen, orders=0).delete()
            LeadTimesByDay.objects.filter(day__in=fallen, orders=0).delete()


def _upsert_sql(connection, model, keys: tuple[str, ...], sums: tuple[str, ...]) -> str:
    """INSERT of a row of (keys, sums), adding the sums to those of the row with the keys if there is one."""
    table, columns = connection.ops.quote_name(model._meta.db_table), (*keys, *sums)
    added = ", ".join(f"{name} = {table}.{name} + excluded.{name}" for name in sums)
    return (
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join(['%s'] * len(columns))}) "
        f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {added}"
    )


def fill_from_summaries(summaries: Any) -> None:
    """Bring empty day-level read models level with these order summaries (the migration that
    adds them, on a store whose summaries exist already)."""
    changes = DayChanges()
    for summary in summaries.values("placed_at", "status", "dispatched_at").iterator(chunk_size=5000):
        changes.add(summary)
    changes.apply()
