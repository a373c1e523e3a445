"""The five staff reports: each a table (shown on the page and exported as CSV) and its charts.

The numbers come from the report generators beside the read models they read
(`orders.reports`, `billing.reports`); this module only lays them out. `REPORTS` maps each
report's URL name (`/reports/<name>.csv`) to the function that builds it for a date range.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from django.utils.safestring import SafeString

from billing import reports as billing_reports
from orders import reports as orders_reports

from .charts import Bar, bar_chart
from .forms import DateRange


@dataclass(frozen=True)
class Report:
    name: str
    title: str
    header: list[str]
    rows: list[list[str]]  # as text: the page and the CSV show the same values
    charts: list[SafeString] = field(default_factory=list)
    note: str = ""


def sales_by_day(period: DateRange) -> Report:
    days = orders_reports.sales_by_day(first_day=period.first_day, last_day=period.last_day)
    every_day = period.days()  # the charts show days with no sale too, as zero
    orders_per_day: dict[datetime.date, int] = dict.fromkeys(every_day, 0)
    revenue: dict[str, dict[datetime.date, Decimal]] = {}
    for row in days:
        orders_per_day[row.day] += row.orders
        if row.currency not in revenue:
            revenue[row.currency] = dict.fromkeys(every_day, Decimal(0))
        revenue[row.currency][row.day] += row.revenue
    charts = [
        bar_chart(
            chart_id="chart-orders-per-day",
            title="Orders placed per day",
            bars=[Bar(day.isoformat(), count) for day, count in orders_per_day.items()],
        )
    ]
    charts += [
        bar_chart(
            chart_id=f"chart-revenue-{currency}",
            title=f"Revenue per day, {currency}",
            bars=[Bar(day.isoformat(), float(amount)) for day, amount in per_day.items()],
            value_format="{:,.2f}".format,
        )
        for currency, per_day in sorted(revenue.items())
    ]
    totals = ", ".join(f"{amount} {currency}" for currency, amount in orders_reports.revenue_by_currency(days).items())
    return Report(
        name="sales-by-day",
        title="Sales by day",
        header=["day", "currency", "orders", "revenue"],
        rows=[[row.day.isoformat(), row.currency, str(row.orders), str(row.revenue)] for row in days],
        charts=charts,
        note=f"{orders_reports.total_orders(days)} orders placed; revenue {totals or 'none'}. "
        "Gross: cancelled orders still count here; see orders by status.",
    )


def orders_by_status(period: DateRange) -> Report:
    counts = orders_reports.orders_by_status(start=period.start, end=period.end)
    return Report(
        name="orders-by-status",
        title="Orders by status",
        header=["status", "orders"],
        rows=[[row.status, str(row.orders)] for row in counts],
        charts=[
            bar_chart(
                chart_id="chart-orders-by-status",
                title="Orders placed in the range, by their status now",
                bars=[Bar(row.status, row.orders) for row in counts],
            )
        ],
        note="Orders placed in the range, by the status they have now.",
    )


def capture_rate(period: DateRange) -> Report:
    payments = billing_reports.capture_rate(start=period.start, end=period.end)
    rate = "" if payments.rate is None else f"{payments.rate:.4f}"
    shown = "no payment attempt" if payments.rate is None else f"{payments.rate:.1%} captured"
    return Report(
        name="capture-rate",
        title="Payment capture rate",
        header=["captured", "declined", "attempts", "capture_rate"],
        rows=[[str(payments.captured), str(payments.declined), str(payments.attempts), rate]],
        charts=[
            bar_chart(
                chart_id="chart-capture-rate",
                title="Payments captured and declined",
                bars=[Bar("captured", payments.captured), Bar("declined", payments.declined)],
            )
        ],
        note=f"{shown}: captured / (captured + declined), payments recorded in the range; refunds are not attempts.",
    )


def lead_time(period: DateRange) -> Report:
    found = orders_reports.lead_time(start=period.start, end=period.end)
    percentiles = [("p50", found.p50), ("p95", found.p95)]
    unit, per_unit = _time_unit(found.p95)
    return Report(
        name="lead-time",
        title="Fulfilment lead time, placed to dispatched",
        header=["percentile", "seconds", "duration", "dispatched_orders"],
        rows=[
            [name, f"{value.total_seconds():.1f}", _duration(value), str(found.dispatched_orders)]
            for name, value in percentiles
            if value is not None
        ],
        charts=[
            bar_chart(
                chart_id="chart-lead-time",
                title=f"Lead time from placed to dispatched, in {unit}",
                bars=[Bar(name, value.total_seconds() / per_unit) for name, value in percentiles if value is not None],
                value_format="{:,.2f}".format,
            )
        ],
        note=f"Orders placed in the range and dispatched: {found.dispatched_orders}.",
    )


def top_products(period: DateRange) -> Report:
    """All time: product sales are kept per product, not per day, so the range does not apply."""
    ranking = orders_reports.top_products(limit=10)
    return Report(
        name="top-products",
        title="Top products (all time)",
        header=["sku", "currency", "quantity", "orders", "revenue"],
        rows=[[r.sku, r.currency, str(r.quantity), str(r.orders), str(r.revenue)] for r in ranking],
        charts=[
            bar_chart(
                chart_id="chart-top-products",
                title="Units ordered per product, all time",
                bars=[Bar(f"{r.sku} {r.currency}", r.quantity) for r in ranking],
            )
        ],
        note="All time, whatever the range: the product sales read model has no dates. Gross of cancellations.",
    )


REPORTS: dict[str, Callable[[DateRange], Report]] = {
    "sales-by-day": sales_by_day,
    "orders-by-status": orders_by_status,
    "capture-rate": capture_rate,
    "lead-time": lead_time,
    "top-products": top_products,
}


def all_reports(period: DateRange) -> list[Report]:
    """Every report for `period`, in the page's order."""
    return [build(period) for build in REPORTS.values()]


def _time_unit(longest: datetime.timedelta | None) -> tuple[str, int]:
    """The unit the lead-time chart reads best in: (name, seconds per unit)."""
    seconds = longest.total_seconds() if longest else 0
    if seconds >= 3600:
        return "hours", 3600
    return ("minutes", 60) if seconds >= 60 else ("seconds", 1)


def _duration(value: datetime.timedelta) -> str:
    """`2 d 03:04:05`, `00:04:05`, or `4.5 s` under a minute."""
    if value.total_seconds() < 60:
        return f"{value.total_seconds():.1f} s"
    seconds = int(value.total_seconds())
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    clock = f"{hours:02d}:{minutes:02d}:{seconds:02d}"
    return f"{days} d {clock}" if days else clock
