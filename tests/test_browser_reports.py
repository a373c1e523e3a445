"""Browser test (issue 5 item 7): a staff user sees the reports' charts in Debian's Chromium, every
asset from the site itself."""

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import expect

from tests.browser import assert_requests_stay_on_site
from tests.flows import dispatched, web_order

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def orders(post):
    """Three orders through the gateway, processed and projected in-process: paid, shipped, declined."""
    for body in (web_order("R-1", "tok_ok"), web_order("R-2", "tok_ok"), web_order("R-3", "tok_decline")):
        post(body)
    post(dispatched("R-2"))


def test_a_staff_user_sees_the_reports_charts_drawn_by_the_site(page, site_url, page_requests, page_errors, orders):
    User.objects.create_user("staff", password="a long staff password", is_staff=True)
    page.goto(site_url + "/reports/")
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
    # The bars are there: the sales chart has one for today's three orders, the status chart more.
    assert page.locator("svg[role=img] rect").count() >= 3
    expect(page.locator("#chart-orders-by-status")).to_contain_text("payment_declined")
    expect(page.get_by_role("cell", name="payment_declined", exact=True)).to_have_count(1)
    assert page_errors == []
    assert_requests_stay_on_site(page_requests, site_url)
