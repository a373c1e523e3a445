"""S15: headless Chromium with the network closed (tests/browser.py aborts any request leaving the
site) loads every kind of page: the storefront, an order's status page, the staff reports with
their charts, the admin's index and a change list, and the API docs (Swagger UI). Every request
goes to the site itself, none is aborted or fails, no script error is raised, and the charts and
the docs are drawn.
"""

import re

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client
from playwright.sync_api import expect

from gateway.one_time_keys import new_key
from orders.models import OrderSummary
from tests.browser import assert_requests_stay_on_site
from tests.flows import dispatched, web_order
from tests.waiting import wait_until

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def shop(post) -> str:
    """Three partner orders processed and projected in-process (paid, shipped, declined), and one
    from the storefront's form; the storefront order's id."""
    for body in (web_order("R-1", "tok_ok"), web_order("R-2", "tok_ok"), web_order("R-3", "tok_decline")):
        post(body)
    post(dispatched("R-2"))
    call_command("loaddata", "demo_catalog", verbosity=0)
    form = {
        "customer_name": "Ann", "customer_email": "ann@example.com", "line1": "1 Via Roma", "city": "Rome",
        "postcode": "00100", "country": "IT", "payment_token": "tok_ok", "quantity_MUG-LOGO": "1",
        "order_key": new_key(),
    }  # fmt: skip
    placed = Client().post("/", form)
    assert placed.status_code == 303, placed.content[:2000]
    User.objects.create_user("staff", password="a long staff password", is_staff=True, is_superuser=True)
    order_id = placed["Location"].strip("/").rsplit("/", 1)[-1]
    # Another transaction of the cluster may hold back the in-process delivery for a moment.
    wait_until(lambda: OrderSummary.objects.filter(order_id=order_id, status="paid").first(), what="the order paid")
    return order_id


def test_every_kind_of_page_loads_only_the_sites_own_assets_and_draws_its_charts(
    page, site_url, page_requests, page_errors, shop
):
    answers, failed = [], []
    page.on("response", lambda response: answers.append((response.status, response.url)))
    page.on("requestfailed", lambda request: failed.append((request.url, request.failure)))

    page.goto(site_url + "/")
    expect(page.get_by_role("button", name="Place order")).to_be_visible()

    page.goto(f"{site_url}/orders/{shop}/")
    expect(page.locator('[data-field="total"]')).to_have_text("12.50 EUR")
    expect(page.locator('[data-field="payment_status"]')).to_have_text("Received")

    page.goto(site_url + "/reports/")  # staff only: through the admin's login page
    expect(page).to_have_url(site_url + "/admin/login/?next=/reports/")
    page.get_by_label("Username").fill("staff")
    page.get_by_label("Password").fill("a long staff password")
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(site_url + "/reports/")
    charts = page.locator("svg[role=img]")
    expect(charts.first).to_be_visible()
    assert charts.count() >= 5
    for n in range(charts.count()):
        box = charts.nth(n).bounding_box()
        assert box is not None and box["width"] > 100 and box["height"] > 50, f"chart {n} is not drawn: {box}"
    # The bars are there: the sales chart has one for today's orders, the status chart more.
    assert page.locator("svg[role=img] rect").count() >= 3
    expect(page.locator("#chart-orders-by-status")).to_contain_text("Payment declined")
    expect(page.get_by_role("cell", name="Payment declined", exact=True)).to_have_count(1)

    page.goto(site_url + "/admin/")
    expect(page.get_by_role("link", name="Order summaries")).to_be_visible()
    page.goto(site_url + "/admin/orders/ordersummary/")
    expect(page.locator("#result_list")).to_contain_text("R-2")

    page.goto(site_url + "/api/docs/")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Shop API")
    expect(page.locator('.opblock-summary-path[data-path="/shop/api/v1"]')).to_be_visible()

    assert page_errors == []
    assert failed == [], failed
    assert_requests_stay_on_site(page_requests, site_url)
    assert [(status, url) for status, url in answers if status >= 400] == []
    for kind in (r"\.css$", r"\.js$", r"/api/schema/"):  # styles, scripts and the schema were loaded
        assert any(re.search(kind, url.split("?")[0]) for url in page_requests), kind
