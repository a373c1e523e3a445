"""The staff reports in Chromium at 1280 and 390 px (issue 16), over 1, 30, 61 and 365 days and an
empty range: the page never scrolls sideways, no two labels of a chart meet, chart text is drawn
at 10 px or more, and an empty range says so instead of drawing bare axes. Screenshots go to
screenshots/ in the checkout (tests.browser.SHOTS, which git ignores), to be looked at:
reports-<range>-1280.png and -390.png.

The history is written straight to the read models, a year of it (the day-level ones filled from the
order summaries, as their migration does): the store stamps events with
the time of the append, so real flows in a test all land on today (test_reports.py has those).
"""

import datetime
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from billing.models import PaymentsByDay
from orders.models import OrderSummary, ProductSales, SalesByDay
from orders.report_days import fill_from_summaries
from readside.models import Product
from tests.browser import WIDTHS, assert_labels_do_not_overlap, assert_no_sideways_scroll, screenshots

pytestmark = pytest.mark.django_db(transaction=True)

#: The smallest chart text, in CSS pixels as drawn, that people can still read on a phone.
SMALLEST_TEXT_PX = 10
LONG_NAME = "Organic cotton hoodie with a very long name, XXL"


@pytest.fixture
def a_year_of_history() -> datetime.date:
    """Sales, payments and orders on every day of the last 400 days, in EUR and USD, and a product
    ranking whose names are long; returns today."""
    today = timezone.localdate()
    days = [today - datetime.timedelta(days=n) for n in range(400)]
    SalesByDay.objects.bulk_create(
        [
            SalesByDay(day=day, currency="EUR", orders=5 + n % 37, revenue=Decimal(120 + n * 7 % 900))
            for n, day in enumerate(days)
        ]
        + [
            SalesByDay(day=day, currency="USD", orders=1 + n % 5, revenue=Decimal("19.90") * (1 + n % 5))
            for n, day in enumerate(days)
        ]
    )
    PaymentsByDay.objects.bulk_create(
        [PaymentsByDay(day=day, kind="captured", payments=4 + n % 30) for n, day in enumerate(days)]
        + [PaymentsByDay(day=day, kind="declined", payments=n % 4) for n, day in enumerate(days)]
    )
    noon = datetime.time(12, tzinfo=datetime.UTC)
    OrderSummary.objects.bulk_create(
        OrderSummary(
            order_id=f"Y-{n}",
            status=("dispatched", "delivered", "paid", "cancelled", "payment_declined")[n % 5],
            placed_at=datetime.datetime.combine(day, noon),
            dispatched_at=datetime.datetime.combine(day, noon) + datetime.timedelta(hours=3 + n % 60)
            if n % 5 in (0, 1)
            else None,
            updated_at=datetime.datetime.combine(day, noon),
        )
        for n, day in enumerate(days)
    )
    fill_from_summaries(
        OrderSummary.objects.all()
    )  # the day-level read models the page reads, as the projector keeps them
    Product.objects.bulk_create(
        [Product(sku="HOODIE-XXL", name=LONG_NAME, unit_price=Decimal("59.00"))]
        + [Product(sku=f"MUG-{n}", name=f"Mug number {n}", unit_price=Decimal("12.50")) for n in range(9)]
    )
    ProductSales.objects.bulk_create(
        [ProductSales(sku="HOODIE-XXL", currency="EUR", quantity=12_345, orders=9_000, revenue=Decimal("728355.00"))]
        + [
            ProductSales(sku=f"MUG-{n}", currency="EUR", quantity=900 - n * 80, orders=500, revenue=Decimal(9000))
            for n in range(9)
        ]
    )
    return today


def logged_in_as_staff(page, site_url: str) -> None:
    get_user_model().objects.create_user("staff", password="a long password", is_staff=True)
    page.goto(f"{site_url}/admin/login/?next=/reports/")
    page.get_by_label("Username").fill("staff")
    page.get_by_label("Password").fill("a long password")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{site_url}/reports/")


def smallest_chart_text_px(page) -> float:
    """The smallest font size of any chart text as drawn: its size times the chart's scale."""
    return page.evaluate(
        """() => Math.min(...Array.from(document.querySelectorAll('svg.chart text')).map(text =>
            parseFloat(getComputedStyle(text).fontSize) * text.getScreenCTM().a))"""
    )


def assert_readable_at_both_widths(page, name: str) -> None:
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        assert_no_sideways_scroll(page)
        assert_labels_do_not_overlap(page, "svg.chart")
        assert smallest_chart_text_px(page) >= SMALLEST_TEXT_PX, f"chart text too small at {width} px"
    screenshots(page, name)


@pytest.mark.parametrize("days", [1, 30, 61, 365])
def test_the_reports_read_well_at_every_range(page, site_url, page_errors, a_year_of_history, days):
    from playwright.sync_api import expect

    today = a_year_of_history
    first = today - datetime.timedelta(days=days - 1)
    logged_in_as_staff(page, site_url)
    page.goto(f"{site_url}/reports/?from={first.isoformat()}&to={today.isoformat()}")

    expect(page.locator("svg.chart")).to_have_count(7)  # orders, revenue EUR and USD, and four more
    # The value axis of each chart over days has round ticks beyond zero and the maximum.
    for chart in ("#chart-orders-per-day", "#chart-revenue-EUR", "#chart-revenue-USD"):
        assert page.locator(f"{chart} .axis-y text").count() >= 3
    expect(page.locator("#chart-top-products")).to_contain_text("Organic cotton hoodie")
    expect(page.locator("#top-products table")).to_contain_text(LONG_NAME)
    expect(page.locator("#key-figures")).to_contain_text("Orders placed")
    assert_readable_at_both_widths(page, f"reports-{days}-days")
    assert page_errors == []


def test_an_empty_range_says_so_and_draws_no_bare_axes(page, site_url, a_year_of_history):
    from playwright.sync_api import expect

    logged_in_as_staff(page, site_url)
    page.goto(f"{site_url}/reports/?from=2020-01-01&to=2020-01-31")

    expect(page.locator("#sales-by-day")).to_contain_text("No orders between 1 Jan 2020 and 31 Jan 2020.")
    expect(page.locator("#capture-rate")).to_contain_text("No payment attempts between")
    expect(page.locator("#lead-time")).to_contain_text("has been dispatched")
    # Only the all-time ranking still has something to draw.
    expect(page.locator("svg.chart")).to_have_count(1)
    assert_readable_at_both_widths(page, "reports-empty")


def test_the_quick_ranges_are_a_click_away(page, site_url, a_year_of_history):
    from playwright.sync_api import expect

    today = a_year_of_history
    logged_in_as_staff(page, site_url)
    page.get_by_role("link", name="Last 90 days").click()

    first = today - datetime.timedelta(days=89)
    expect(page.locator(".note").first).to_contain_text(f"From {first.isoformat()} to {today.isoformat()}")
    expect(page.get_by_role("link", name="Last 90 days")).to_have_attribute("aria-current", "page")
    page.get_by_role("link", name="This month").click()
    expect(page.locator(".note").first).to_contain_text(f"From {today.replace(day=1).isoformat()} to")
