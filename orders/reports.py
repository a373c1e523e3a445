"""Staff report generators over the orders read models (never the events).

Each takes the report's date range as aware datetimes `[start, end)` or as the days in it (both
included), and returns plain rows: the pages, the charts and the CSV exports in `readside.reports`
format them. The reports page reads the day-level read models (`*_on_days`: a few thousand rows
for a year, orders.report_days); `orders_by_status` and `lead_time` read the order summaries
(any instants, exact, a scan of the range's summaries).
"""

from __future__ import annotations

import datetime
import math
from dataclasses import dataclass
from decimal import Decimal

from django.db import connection
from django.db.models import Aggregate, Count, DurationField, ExpressionWrapper, F, QuerySet, Sum
from django.db.models.expressions import Expression

from .models import ORDER_STATUSES, LeadTimesByDay, OrdersPlacedByStatus, OrderSummary, ProductSales, SalesByDay


@dataclass(frozen=True)
class DaySales:
    day: datetime.date
    currency: str
    orders: int
    revenue: Decimal


@dataclass(frozen=True)
class StatusCount:
    status: str
    orders: int


@dataclass(frozen=True)
class LeadTime:
    """Placed-to-dispatched times of the orders placed in the range that were dispatched."""

    dispatched_orders: int
    p50: datetime.timedelta | None  # None when no order was dispatched
    p95: datetime.timedelta | None


@dataclass(frozen=True)
class ProductRanking:
    sku: str
    currency: str
    quantity: int
    orders: int
    revenue: Decimal


def sales_by_day(*, first_day: datetime.date, last_day: datetime.date) -> list[DaySales]:
    """Orders placed and their revenue per day and currency, both days included (gross of cancels)."""
    rows = SalesByDay.objects.filter(day__gte=first_day, day__lte=last_day).order_by("day", "currency")
    return [DaySales(*row) for row in rows.values_list("day", "currency", "orders", "revenue")]


def orders_by_status(*, start: datetime.datetime, end: datetime.datetime) -> list[StatusCount]:
    """How many orders placed in `[start, end)` are in each status now; every status listed, even at 0."""
    counts = dict(_placed_between(start, end).values_list("status").annotate(orders=Count("order_id")).order_by())
    known = [StatusCount(status, counts.pop(status, 0)) for status in ORDER_STATUSES]
    # A status a newer projector may write is shown rather than dropped.
    return known + [StatusCount(status, n) for status, n in sorted(counts.items())]


def orders_by_status_on_days(*, first_day: datetime.date, last_day: datetime.date) -> list[StatusCount]:
    """`orders_by_status` of the orders placed from `first_day` to `last_day` (UTC days, both
    included), from the orders placed by day and status: the same counts, from a few rows a day."""
    rows = OrdersPlacedByStatus.objects.filter(day__gte=first_day, day__lte=last_day)
    counts = dict(rows.values_list("status").annotate(orders=Sum("orders")).order_by())
    known = [StatusCount(status, counts.pop(status, 0)) for status in ORDER_STATUSES]
    return known + [StatusCount(status, n) for status, n in sorted(counts.items()) if n]


def lead_time_on_days(*, first_day: datetime.date, last_day: datetime.date) -> LeadTime:
    """`lead_time` of the orders placed from `first_day` to `last_day` (UTC days, both included),
    from the lead times by day: a histogram, a few dozen rows a day, rather than every order.

    The count is exact. The percentiles are interpolated between ranks as `lead_time`'s, the lead
    at a rank taken as the mean lead of the rank's bucket: exact when the bucket holds that order
    alone or leads all alike, and otherwise within the bucket (at most about 19 % off).
    """
    rows = (
        LeadTimesByDay.objects.filter(day__gte=first_day, day__lte=last_day)
        .values_list("bucket")
        .annotate(orders=Sum("orders"), total=Sum("total"))
        .order_by("bucket")
    )
    buckets = [(orders, total / orders) for _, orders, total in rows if orders > 0]
    count = sum(orders for orders, _ in buckets)
    if not count:
        return LeadTime(0, None, None)
    return LeadTime(count, _from_buckets(buckets, count, 0.5), _from_buckets(buckets, count, 0.95))


def lead_time(*, start: datetime.datetime, end: datetime.datetime) -> LeadTime:
    """p50 and p95 of placed-to-dispatched for the orders placed in `[start, end)` and dispatched.

    Percentiles are interpolated between the two nearest ranks, as PostgreSQL's `percentile_cont`
    does. PostgreSQL computes them in one aggregate query; other databases (SQLite) count the
    rows and fetch only the rows at the needed ranks with ORDER BY ... LIMIT/OFFSET, so no
    database sends every duration to Python, however long the range.
    """
    dispatched = _placed_between(start, end).filter(dispatched_at__isnull=False, placed_at__isnull=False)
    if connection.vendor == "postgresql":
        found = dispatched.aggregate(
            orders=Count("order_id"),
            p50=PercentileCont(_duration(), fraction=0.5),
            p95=PercentileCont(_duration(), fraction=0.95),
        )
        return LeadTime(found["orders"], found["p50"], found["p95"])
    return lead_time_by_ranks(dispatched)


def lead_time_by_ranks(dispatched: QuerySet[OrderSummary]) -> LeadTime:
    """`lead_time` on any database: a COUNT, then per percentile one ORDER BY ... LIMIT 2 OFFSET rank.

    The database sorts; Python receives the two rows around each rank and interpolates.
    """
    count = dispatched.count()
    if not count:
        return LeadTime(0, None, None)
    ordered = dispatched.annotate(lead=_duration()).order_by("lead").values_list("lead", flat=True)
    return LeadTime(count, _interpolated(ordered, count, 0.5), _interpolated(ordered, count, 0.95))


def top_products(*, limit: int = 10) -> list[ProductRanking]:
    """The best-selling products by units ordered, all time (product sales are not kept per day)."""
    rows = ProductSales.objects.order_by("-quantity", "-revenue", "sku", "currency")[:limit]
    return [ProductRanking(r.sku, r.currency, r.quantity, r.orders, r.revenue) for r in rows]


def revenue_by_currency(days: list[DaySales]) -> dict[str, Decimal]:
    """Total revenue of `days` per currency, for the report's summary line."""
    totals: dict[str, Decimal] = {}
    for day in days:
        totals[day.currency] = totals.get(day.currency, Decimal(0)) + day.revenue
    return dict(sorted(totals.items()))


class PercentileCont(Aggregate):
    """PostgreSQL's ordered-set aggregate `percentile_cont(fraction) WITHIN GROUP (ORDER BY expr)`."""

    function = "percentile_cont"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"

    def __init__(self, expression: Expression, *, fraction: float) -> None:
        if not 0 <= fraction <= 1:
            raise ValueError(f"A percentile's fraction is between 0 and 1, not {fraction}.")
        # A float from code, never from a request: safe to write into the SQL as a literal.
        super().__init__(expression, output_field=DurationField(), fraction=repr(float(fraction)))


def _placed_between(start: datetime.datetime, end: datetime.datetime) -> QuerySet[OrderSummary]:
    return OrderSummary.objects.filter(placed_at__gte=start, placed_at__lt=end)


def _duration() -> ExpressionWrapper:
    return ExpressionWrapper(F("dispatched_at") - F("placed_at"), output_field=DurationField())


def _interpolated(ordered: QuerySet, count: int, fraction: float) -> datetime.timedelta:
    rank = fraction * (count - 1)
    below = math.floor(rank)
    values = list(ordered[below : below + 2])
    if len(values) == 1:
        return values[0]
    return values[0] + (values[1] - values[0]) * (rank - below)


def _from_buckets(buckets: list[tuple[int, float]], count: int, fraction: float) -> datetime.timedelta:
    """The percentile of a histogram of (orders, mean lead in microseconds) buckets, shortest first."""
    rank = fraction * (count - 1)
    below = math.floor(rank)
    low = _at_rank(buckets, below)
    high = _at_rank(buckets, below + 1) if below + 1 < count else low
    return datetime.timedelta(microseconds=round(low + (high - low) * (rank - below)))


def _at_rank(buckets: list[tuple[int, float]], rank: int) -> float:
    """The lead of the order at `rank` (from 0): its bucket's mean."""
    for orders, mean in buckets:
        if rank < orders:
            return mean
        rank -= orders
    raise ValueError(f"No order at rank {rank} of the histogram.")


def total_orders(days: list[DaySales]) -> int:
    """Orders placed in `days`, all currencies."""
    return sum(day.orders for day in days)
