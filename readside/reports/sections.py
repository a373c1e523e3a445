"""The five staff reports: each a table (shown on the page and exported as CSV) and its charts, and
the key figures of a range beside those of the period before it.

The numbers come from the report generators beside the read models they read
(`orders.reports`, `billing.reports`); this module only lays them out. `REPORTS` maps each
report's URL name (`/reports/<name>.csv`) to the function that builds it for a date range.

The CSV keeps its machine headers and plain values (`header`, `rows`: what a spreadsheet or a
script reads); the page shows human headers and values (`columns`, `shown`), numbers right-aligned.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from django.utils.safestring import SafeString

from billing import reports as billing_reports
from orders import reports as orders_reports
from readside.models import Product

from .charts import MONTHS, Bar, day_chart, ranking_chart
from .forms import DateRange
from .tables import Column, table


@dataclass(frozen=True)
class Report:
    name: str
    title: str
    header: list[str]  # the CSV's
    rows: list[list[str]]  # the CSV's, as text
    columns: list[Column]  # the page's table
    shown: list[list[str]]  # the page's rows, the same facts as `rows`
    charts: list[SafeString] = field(default_factory=list)
    note: str = ""
    empty: str = ""  # said instead of the charts when the range holds nothing to draw

    def table(self) -> SafeString:
        """The page's table: human headers, numbers right-aligned."""
        return table(caption=self.title, columns=self.columns, rows=self.shown)


@dataclass(frozen=True)
class Figure:
    """A key figure of the range and of the period of the same length before it."""

    name: str
    now: str
    before: str
    change: str  # "+12 %", "-3.0 points", "no change", "new"


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
        day_chart(
            chart_id="chart-orders-per-day",
            title="Orders placed per day",
            unit="orders",
            days=list(orders_per_day.items()),
        )
    ]
    charts += [
        day_chart(
            chart_id=f"chart-revenue-{currency}",
            title=f"Revenue per day, {currency}",
            unit=currency,
            days=[(day, float(amount)) for day, amount in per_day.items()],
            value_format="{:,.2f}".format,
            whole=False,
        )
        for currency, per_day in sorted(revenue.items())
    ]
    totals = ", ".join(
        f"{_money(amount)} {currency}" for currency, amount in orders_reports.revenue_by_currency(days).items()
    )
    return Report(
        name="sales-by-day",
        title="Sales by day",
        header=["day", "currency", "orders", "revenue"],
        rows=[[row.day.isoformat(), row.currency, str(row.orders), str(row.revenue)] for row in days],
        columns=[Column("Day"), Column("Currency"), Column("Orders", numeric=True), Column("Revenue", numeric=True)],
        shown=[[_day(row.day), row.currency, f"{row.orders:,}", _money(row.revenue)] for row in days],
        charts=charts if days else [],
        note=f"{orders_reports.total_orders(days):,} orders placed; revenue {totals or 'none'}. "
        "Gross: cancelled orders still count here; see orders by status.",
        empty="" if days else f"No orders between {_between(period)}.",
    )


def orders_by_status(period: DateRange) -> Report:
    counts = orders_reports.orders_by_status_on_days(first_day=period.first_day, last_day=period.last_day)
    return Report(
        name="orders-by-status",
        title="Orders by status",
        header=["status", "orders"],
        rows=[[row.status, str(row.orders)] for row in counts],
        columns=[Column("Status now"), Column("Orders", numeric=True)],
        shown=[[_status(row.status), f"{row.orders:,}"] for row in counts],
        charts=[
            ranking_chart(
                chart_id="chart-orders-by-status",
                title="Orders placed in the range, by status now",
                unit="orders",
                bars=[Bar(_status(row.status), row.orders) for row in counts],
            )
        ],
        note="Orders placed in the range, by the status they have now.",
        empty="" if any(row.orders for row in counts) else f"No orders between {_between(period)}.",
    )


def capture_rate(period: DateRange) -> Report:
    payments = billing_reports.capture_rate(first_day=period.first_day, last_day=period.last_day)
    rate = "" if payments.rate is None else f"{payments.rate:.4f}"
    shown = "no payment attempt" if payments.rate is None else f"{payments.rate:.1%} captured"
    return Report(
        name="capture-rate",
        title="Payment capture rate",
        header=["captured", "declined", "attempts", "capture_rate"],
        rows=[[str(payments.captured), str(payments.declined), str(payments.attempts), rate]],
        columns=[Column(title, numeric=True) for title in ("Captured", "Declined", "Attempts", "Capture rate")],
        shown=[
            [
                f"{payments.captured:,}",
                f"{payments.declined:,}",
                f"{payments.attempts:,}",
                "" if payments.rate is None else f"{payments.rate:.1%}",
            ]
        ],
        charts=[
            ranking_chart(
                chart_id="chart-capture-rate",
                title="Payments captured and declined",
                unit="payments",
                bars=[Bar("Captured", payments.captured), Bar("Declined", payments.declined)],
            )
        ],
        note=f"{shown}: captured / (captured + declined), payments recorded in the range; refunds are not attempts.",
        empty="" if payments.attempts else f"No payment attempts between {_between(period)}.",
    )


def lead_time(period: DateRange) -> Report:
    found = orders_reports.lead_time_on_days(first_day=period.first_day, last_day=period.last_day)
    percentiles = [(name, value) for name, value in (("p50", found.p50), ("p95", found.p95)) if value is not None]
    unit, per_unit = _time_unit(found.p95)
    return Report(
        name="lead-time",
        title="Fulfilment lead time, placed to dispatched",
        header=["percentile", "seconds", "duration", "dispatched_orders"],
        rows=[
            [name, f"{value.total_seconds():.1f}", _duration(value), str(found.dispatched_orders)]
            for name, value in percentiles
        ],
        columns=[
            Column("Percentile"),
            Column("Seconds", numeric=True),
            Column("Duration", numeric=True),
            Column("Dispatched orders", numeric=True),
        ],
        shown=[
            [_percentile(name), f"{value.total_seconds():,.1f}", _duration(value), f"{found.dispatched_orders:,}"]
            for name, value in percentiles
        ],
        charts=[
            ranking_chart(
                chart_id="chart-lead-time",
                title="Placed to dispatched",
                unit=unit,
                bars=[Bar(_percentile(name), value.total_seconds() / per_unit) for name, value in percentiles],
                value_format="{:,.1f}".format,
                whole=False,
            )
        ],
        note=f"Orders placed in the range and dispatched: {found.dispatched_orders:,}. Percentiles from lead times "
        "counted per day in buckets about 19 % wide, a rank's lead taken as its bucket's mean: exact when that "
        "order is alone in its bucket, otherwise at most about 19 % off.",
        empty="" if percentiles else f"No order placed between {_between(period)} has been dispatched.",
    )


def top_products(period: DateRange) -> Report:
    """All time: product sales are kept per product, not per day, so the range does not apply."""
    ranking = orders_reports.top_products(limit=10)
    names = dict(Product.objects.filter(sku__in={r.sku for r in ranking}).values_list("sku", "name"))
    return Report(
        name="top-products",
        title="Top products (all time)",
        header=["sku", "currency", "quantity", "orders", "revenue"],
        rows=[[r.sku, r.currency, str(r.quantity), str(r.orders), str(r.revenue)] for r in ranking],
        columns=[
            Column("Product"),
            Column("Currency"),
            Column("Units", numeric=True),
            Column("Orders", numeric=True),
            Column("Revenue", numeric=True),
        ],
        shown=[
            [names.get(r.sku, r.sku), r.currency, f"{r.quantity:,}", f"{r.orders:,}", _money(r.revenue)]
            for r in ranking
        ],
        charts=[
            ranking_chart(
                chart_id="chart-top-products",
                title="Units ordered per product, all time",
                unit="units",
                bars=[Bar(_product(names.get(r.sku, r.sku), r.currency, ranking), r.quantity) for r in ranking],
            )
        ],
        note="All time, whatever the range: the product sales read model has no dates. Gross of cancellations.",
        empty="" if ranking else "No product has been ordered yet.",
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


def key_figures(period: DateRange) -> list[Figure]:
    """Orders, revenue per currency and capture rate of `period` and of the period before it."""
    before = period.previous()
    sales = {
        which: orders_reports.sales_by_day(first_day=days.first_day, last_day=days.last_day)
        for which, days in (("now", period), ("before", before))
    }
    orders = {which: orders_reports.total_orders(days) for which, days in sales.items()}
    figures = [Figure("Orders placed", f"{orders['now']:,}", f"{orders['before']:,}", _change(*orders.values()))]
    revenue = {which: orders_reports.revenue_by_currency(days) for which, days in sales.items()}
    for currency in sorted(revenue["now"].keys() | revenue["before"].keys()):
        now, then = (revenue[which].get(currency, Decimal(0)) for which in ("now", "before"))
        figures.append(Figure(f"Revenue, {currency}", _money(now), _money(then), _change(now, then)))
    rates = [
        billing_reports.capture_rate(first_day=days.first_day, last_day=days.last_day).rate for days in (period, before)
    ]
    shown = ["none" if rate is None else f"{rate:.1%}" for rate in rates]
    points = "" if None in rates else f"{(rates[0] - rates[1]) * 100:+.1f} points"
    figures.append(Figure("Capture rate", shown[0], shown[1], points.replace("+0.0 points", "no change")))
    return figures


def compared(period: DateRange) -> str:
    """What the key figures set the range against, in words."""
    before = period.previous()
    if before.first_day == before.last_day:
        return f"This day against the day before, {_day(before.first_day)}."
    days = (period.last_day - period.first_day).days + 1
    return f"This range against the {days} days before it, {_day(before.first_day)} to {_day(before.last_day)}."


def _change(now: Decimal | int, before: Decimal | int) -> str:
    if not before:
        return "no change" if not now else "new"
    percent = (now - before) * 100 / before
    return "no change" if round(percent) == 0 else f"{percent:+.0f} %"


def _between(period: DateRange) -> str:
    return f"{_day(period.first_day)} and {_day(period.last_day)}"


def _day(day: datetime.date) -> str:
    """`4 Dec 2026` (as `%d %b %Y` without the zero, and without strftime's cost: a year's table is 730 rows)."""
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"


def _money(amount: Decimal) -> str:
    return f"{amount:,.2f}"


def _status(status: str) -> str:
    """`payment_declined` as people say it: Payment declined."""
    return status.replace("_", " ").capitalize()


def _percentile(name: str) -> str:
    return {"p50": "Median (p50)", "p95": "p95"}.get(name, name)


def _product(name: str, currency: str, ranking: list) -> str:
    """The product's name, with its currency when the ranking holds more than one."""
    return name if len({r.currency for r in ranking}) == 1 else f"{name} ({currency})"


def _time_unit(longest: datetime.timedelta | None) -> tuple[str, int]:
    """The unit the lead-time chart reads best in: (name, seconds per unit)."""
    seconds = longest.total_seconds() if longest else 0
    if seconds >= 2 * 86400:
        return "days", 86400
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
