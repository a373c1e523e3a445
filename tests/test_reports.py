"""The staff reports at /reports/: who may see them (S5), their numbers after real orders flowed
through the components in-process, the date range, the CSV exports, the inline SVG charts and
escaping (S16)."""

import csv
import datetime
import io
from decimal import Decimal
from html.parser import HTMLParser

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from gateway.models import Partner
from gateway.service import receive_message
from orders import reports as orders_reports
from orders.models import LeadTimesByDay, OrderSummary
from orders.report_days import DayChanges, fill_from_summaries, lead_bucket
from readside.reports.charts import Bar, ranking_chart
from tests.flows import cancel, dispatched, marketplace_order, web_order

pytestmark = pytest.mark.django_db(transaction=True)

REPORT_NAMES = ["sales-by-day", "orders-by-status", "capture-rate", "lead-time", "top-products"]
HOSTILE_SKU = '<script>alert("sku")</script>'


@pytest.fixture
def staff_client() -> Client:
    user = get_user_model().objects.create_user("staff", password="staff-pass-123", is_staff=True)
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def flowed_orders(settings) -> None:
    """Four orders through the gateway and the whole in-process flow: one dispatched, one declined,
    one cancelled (refunded), one paid from the marketplace."""
    settings.CONSUMER_DELIVERY_ON_COMMIT = settings.PROJECTIONS_ON_COMMIT = True
    partner = Partner.objects.create(name="acme", allowed_sources=["web", "marketplace", "warehouse"])
    for body in (
        web_order("R-1", "tok_ok"),
        web_order("R-2", "tok_decline"),
        web_order("R-3", "tok_ok"),
        marketplace_order("R-4", "tok_ok"),
        dispatched("R-1"),
        cancel("R-3"),
    ):
        receive_message(body, caller=partner)
    assert OrderSummary.objects.get(order_id="R-1").status == "dispatched"
    assert OrderSummary.objects.get(order_id="R-3").status == "cancelled"


def csv_rows(client: Client, name: str, query: str = "") -> list[list[str]]:
    answer = client.get(f"/reports/{name}.csv{query}")
    assert answer.status_code == 200, answer.content
    assert answer["Content-Type"].startswith("text/csv")
    assert answer["Content-Disposition"].startswith("attachment; filename=")
    return list(csv.reader(io.StringIO(answer.content.decode())))


# --- who may see them ------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["/reports/", "/reports/sales-by-day.csv"])
def test_an_anonymous_user_is_sent_to_the_admin_login(url):
    answer = Client().get(url)
    assert answer.status_code == 302
    assert answer["Location"] == f"/admin/login/?next={url}"


@pytest.mark.parametrize("url", ["/reports/", "/reports/capture-rate.csv"])
def test_a_user_who_is_not_staff_cannot_see_the_reports(url):
    client = Client()
    client.force_login(get_user_model().objects.create_user("customer", password="customer-pass-123"))
    answer = client.get(url)
    assert answer.status_code in (302, 403)
    if answer.status_code == 302:
        assert answer["Location"].startswith("/admin/login/")
    assert b"Fulfilment lead time" not in answer.content


# --- the numbers ------------------------------------------------------------------------------


def test_staff_see_every_report_with_the_numbers_of_the_orders_that_flowed(staff_client, flowed_orders):
    page = staff_client.get("/reports/")
    assert page.status_code == 200
    for title in ("Sales by day", "Orders by status", "Payment capture rate", "Fulfilment lead time", "Top products"):
        assert title in page.content.decode()

    today = timezone.localdate().isoformat()
    assert csv_rows(staff_client, "sales-by-day") == [
        ["day", "currency", "orders", "revenue"],
        [today, "EUR", "4", str(Decimal("39.80") * 3 + Decimal("12.50"))],
    ]
    assert csv_rows(staff_client, "orders-by-status") == [
        ["status", "orders"],
        ["placed", "0"],
        ["paid", "1"],
        ["payment_declined", "1"],
        ["dispatched", "1"],
        ["delivered", "0"],
        ["cancelled", "1"],
        ["return_requested", "0"],
        ["returned", "0"],
    ]
    assert csv_rows(staff_client, "capture-rate") == [
        ["captured", "declined", "attempts", "capture_rate"],
        ["3", "1", "4", "0.7500"],
    ]
    shipped = OrderSummary.objects.get(order_id="R-1")
    seconds = f"{(shipped.dispatched_at - shipped.placed_at).total_seconds():.1f}"
    header, *lead_rows = csv_rows(staff_client, "lead-time")
    assert header == ["percentile", "seconds", "duration", "dispatched_orders"]
    assert [(row[0], row[1], row[3]) for row in lead_rows] == [("p50", seconds, "1"), ("p95", seconds, "1")]
    assert csv_rows(staff_client, "top-products") == [
        ["sku", "currency", "quantity", "orders", "revenue"],
        ["TEE-RED-M", "EUR", "6", "3", "119.40"],
        ["MUG-BLUE", "EUR", "1", "1", "12.50"],
    ]


def test_the_date_range_filters_every_dated_report(staff_client, flowed_orders):
    past = "?from=2020-01-01&to=2020-01-31"
    assert csv_rows(staff_client, "sales-by-day", past) == [["day", "currency", "orders", "revenue"]]
    assert {row[1] for row in csv_rows(staff_client, "orders-by-status", past)[1:]} == {"0"}
    assert csv_rows(staff_client, "capture-rate", past)[1] == ["0", "0", "0", ""]
    assert csv_rows(staff_client, "lead-time", past) == [["percentile", "seconds", "duration", "dispatched_orders"]]
    # Product sales have no dates: the ranking is all time, whatever the range.
    assert len(csv_rows(staff_client, "top-products", past)) == 3

    today = timezone.localdate()
    around_today = f"?from={(today - datetime.timedelta(days=1)).isoformat()}&to={today.isoformat()}"
    assert csv_rows(staff_client, "capture-rate", around_today)[1] == ["3", "1", "4", "0.7500"]
    page = staff_client.get(f"/reports/{past}").content.decode()
    assert "From 2020-01-01 to 2020-01-31" in page


def test_the_default_range_is_the_last_30_days(staff_client):
    answer = staff_client.get("/reports/sales-by-day.csv")
    today = timezone.localdate()
    first = today - datetime.timedelta(days=29)
    assert f"sales-by-day_{first.isoformat()}_{today.isoformat()}.csv" in answer["Content-Disposition"]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("?from=2026-13-45", "Enter a valid date."),
        ("?from=yesterday&to=2026-01-01", "Enter a valid date."),
        ("?from=2026-02-01&to=2026-01-01", "The start of the range is after its end."),
        ("?from=2000-01-01&to=2026-01-01", "A range covers at most"),
    ],
)
def test_a_bad_range_shows_an_error_not_a_server_error(staff_client, query, message):
    page = staff_client.get(f"/reports/{query}")
    assert page.status_code == 400
    assert message in page.content.decode()
    assert "<svg" not in page.content.decode()
    export = staff_client.get(f"/reports/lead-time.csv{query}")
    assert export.status_code == 400
    assert message in export.content.decode()


def test_an_unknown_report_is_not_found(staff_client):
    assert staff_client.get("/reports/no-such-report.csv").status_code == 404


# --- charts, assets, escaping -----------------------------------------------------------------


class _Links(HTMLParser):
    """Every src and href of a page, and the number of inline <svg> elements."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.svgs = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.svgs += tag == "svg"
        self.urls += [value or "" for name, value in attrs if name in ("src", "href")]


def test_every_chart_is_inline_svg_and_the_page_loads_nothing_from_elsewhere(staff_client, flowed_orders):
    content = staff_client.get("/reports/").content.decode()
    links = _Links()
    links.feed(content)
    # orders per day, revenue (EUR), orders by status, capture rate, lead time, top products
    assert links.svgs == 6
    assert content.count('role="img"') == 6
    assert links.urls, "the page should at least link its stylesheet and CSV exports"
    external = [url for url in links.urls if url.startswith(("http:", "https:", "//"))]
    assert external == []
    assert "<script" not in content
    for name in REPORT_NAMES:
        assert f"/reports/{name}.csv?from=" in content


def test_labels_holding_html_are_shown_escaped(staff_client, settings):
    settings.CONSUMER_DELIVERY_ON_COMMIT = settings.PROJECTIONS_ON_COMMIT = True
    partner = Partner.objects.create(name="mallory", allowed_sources=["web"])
    body = web_order("X-1", "tok_ok")
    body["lines"][0]["sku"] = HOSTILE_SKU
    receive_message(body, caller=partner)

    content = staff_client.get("/reports/").content.decode()
    assert HOSTILE_SKU not in content
    assert "&lt;script&gt;alert(&quot;sku&quot;)&lt;/script&gt;" in content  # in the table and the chart
    assert "<script" not in content


def test_a_chart_escapes_its_title_and_labels():
    chart = ranking_chart(chart_id="c", title="<b>title</b>", unit="<u>", bars=[Bar("<i>label</i>", 2), Bar("two", 1)])
    assert "<b>" not in chart and "<i>" not in chart and "<u>" not in chart
    assert "&lt;b&gt;title&lt;/b&gt;" in chart and "&lt;i&gt;label&lt;/i&gt;" in chart
    assert chart.count("<rect") == 2


# --- lead-time percentiles --------------------------------------------------------------------


@pytest.fixture
def twenty_dispatched_orders() -> datetime.datetime:
    """Orders with lead times of 1 to 20 minutes. Written straight to the read model: the store stamps
    events with the time of the append, so real flows cannot give chosen durations."""
    placed = timezone.now().replace(microsecond=0) - datetime.timedelta(hours=2)
    OrderSummary.objects.bulk_create(
        OrderSummary(
            order_id=f"L-{minutes}",
            status="dispatched",
            placed_at=placed,
            dispatched_at=placed + datetime.timedelta(minutes=minutes),
            updated_at=placed,
        )
        for minutes in range(20, 0, -1)
    )
    return placed


def test_lead_time_percentiles_interpolate_between_ranks(twenty_dispatched_orders):
    placed = twenty_dispatched_orders
    found = orders_reports.lead_time(start=placed, end=placed + datetime.timedelta(seconds=1))
    assert found.dispatched_orders == 20
    assert found.p50 == datetime.timedelta(minutes=10, seconds=30)  # between the 10th and 11th
    assert found.p95 == datetime.timedelta(minutes=19, seconds=3)  # 19 + 0.05 of a minute
    nothing = orders_reports.lead_time(start=placed - datetime.timedelta(days=1), end=placed)
    assert (nothing.dispatched_orders, nothing.p50, nothing.p95) == (0, None, None)


@pytest.mark.postgresql
def test_the_portable_percentiles_equal_postgresqls_percentile_cont(twenty_dispatched_orders):
    placed = twenty_dispatched_orders
    dispatched = OrderSummary.objects.filter(dispatched_at__isnull=False)
    assert orders_reports.lead_time_by_ranks(dispatched) == orders_reports.lead_time(
        start=placed, end=placed + datetime.timedelta(seconds=1)
    )


# --- the day-level read models the page reads -------------------------------------------------


def test_the_day_level_read_models_give_the_summaries_numbers(flowed_orders):
    today = timezone.localdate()
    start = timezone.make_aware(datetime.datetime.combine(today, datetime.time()))
    end = start + datetime.timedelta(days=1)
    by_days = orders_reports.orders_by_status_on_days(first_day=today, last_day=today)
    assert by_days == orders_reports.orders_by_status(start=start, end=end)
    # One dispatched order: alone in its bucket, its lead exactly.
    assert orders_reports.lead_time_on_days(first_day=today, last_day=today) == orders_reports.lead_time(
        start=start, end=end
    )
    yesterday = today - datetime.timedelta(days=1)
    assert {row.orders for row in orders_reports.orders_by_status_on_days(first_day=yesterday, last_day=yesterday)} == {
        0
    }


def test_percentiles_from_the_lead_time_buckets_are_within_a_bucket_of_the_exact_ones(twenty_dispatched_orders):
    placed = twenty_dispatched_orders
    fill_from_summaries(OrderSummary.objects.all())  # as the migration does for summaries already there
    exact = orders_reports.lead_time(start=placed, end=placed + datetime.timedelta(seconds=1))
    found = orders_reports.lead_time_on_days(first_day=placed.date(), last_day=placed.date())
    assert found.dispatched_orders == exact.dispatched_orders == 20
    for estimate, value in ((found.p50, exact.p50), (found.p95, exact.p95)):
        assert abs(estimate - value) <= value * 0.19
    assert LeadTimesByDay.objects.filter(day=placed.date()).count() == len(
        {lead_bucket(datetime.timedelta(minutes=m)) for m in range(1, 21)}
    )


def test_leads_all_alike_give_exact_percentiles():
    placed = timezone.now().replace(microsecond=0) - datetime.timedelta(hours=3)
    changes = DayChanges()
    for _ in range(7):
        changes.add(
            {"placed_at": placed, "status": "dispatched", "dispatched_at": placed + datetime.timedelta(seconds=90.5)}
        )
    changes.apply()
    found = orders_reports.lead_time_on_days(first_day=placed.date(), last_day=placed.date())
    assert (found.dispatched_orders, found.p50, found.p95) == (
        7,
        datetime.timedelta(seconds=90.5),
        datetime.timedelta(seconds=90.5),
    )
