"""Browser tests (issue 5 item 7): the storefront in Debian's Chromium, and the login wall.

An order placed through the form reaches `paid` on its status page while the page stays open: the
page's script polls and updates it, no reload. Every request a page makes goes to the site itself.
"""

import re

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from orders.models import OrderSummary
from tests.browser import (
    TIMEOUT_MS,
    assert_requests_stay_on_site,
    chromium_executable,
    place_order_in_the_form,
    processed,
)

pytestmark = pytest.mark.django_db(transaction=True)

STATUS_PAGE = re.compile(r"/orders/[0-9a-f-]{36}/$")


@pytest.fixture
def catalog():
    call_command("loaddata", "demo_catalog", verbosity=0)


def test_an_order_placed_in_chromium_reaches_paid_on_its_status_page_by_itself(
    page, site_url, page_requests, page_errors, catalog, settings
):
    # The components handle the order when it is posted, but the read models follow only when the
    # test runs the projectors: the status page must first show the order as being processed,
    # then catch up by itself.
    settings.CONSUMER_DELIVERY_ON_COMMIT, settings.PROJECTIONS_ON_COMMIT = True, False
    place_order_in_the_form(page, site_url, name="Ann <b>Browser</b>", quantity="2")

    expect(page).to_have_url(STATUS_PAGE)
    order_id = page.url.rstrip("/").rsplit("/", 1)[-1]
    expect(page.locator('[data-field="headline"]')).to_contain_text("processing")
    expect(page.locator('[data-field="updates"]')).to_have_text("This page updates by itself.")
    page.evaluate("window.stillTheFirstLoad = true")  # gone if the page reloaded

    processed(
        lambda: OrderSummary.objects.filter(order_id=order_id, status="paid", shipment_status="requested").first(),
        what=f"order {order_id} to be paid",
    )

    expect(page.locator('[data-field="status"]')).to_have_text("Paid", timeout=TIMEOUT_MS)
    expect(page.locator('[data-field="payment_status"]')).to_have_text("Captured")
    expect(page.locator('[data-field="shipment_status"]')).to_have_text("Being prepared")
    expect(page.locator('[data-field="customer_name"]')).to_have_text("Ann <b>Browser</b>")  # text, not markup
    expect(page.locator('[data-field="total"]')).to_have_text("39.80 EUR")
    expect(page.locator('[data-field="lines"] tr')).to_have_count(1)
    expect(page.locator('[data-field="lines"] tr td').first).to_have_text("TEE-RED-M")
    expect(page.locator("[data-order-status]")).to_have_attribute("data-settled", "true")
    expect(page.locator('[data-field="updates"]')).to_have_text("This order is settled.")
    assert page.evaluate("window.stillTheFirstLoad") is True
    assert page.locator('[data-field="customer_name"] b').count() == 0

    assert any(url.endswith(f"/orders/{order_id}/status.json") for url in page_requests), "the page never polled"
    assert any(url.endswith("/static/shopsite/order-status.js") for url in page_requests)
    assert page_errors == []
    assert_requests_stay_on_site(page_requests, site_url)


def test_the_status_page_works_without_javascript_through_its_reload_link(browser, site_url, catalog, settings):
    settings.CONSUMER_DELIVERY_ON_COMMIT = settings.PROJECTIONS_ON_COMMIT = True
    context = browser.new_context(java_script_enabled=False)
    context.set_default_timeout(TIMEOUT_MS)
    try:
        page = context.new_page()
        page.goto(site_url + "/")
        page.get_by_label("Logo mug").fill("1")
        for label, value in [("Name", "Ann"), ("Email", "ann@example.com"), ("Address", "1 Via Roma"),
                             ("City", "Rome"), ("Postcode", "00100"), ("Country", "IT")]:  # fmt: skip
            page.get_by_label(label).fill(value)
        page.get_by_role("button", name="Place order").click()
        expect(page).to_have_url(STATUS_PAGE)
        order_id = page.url.rstrip("/").rsplit("/", 1)[-1]
        processed(lambda: OrderSummary.objects.filter(order_id=order_id, status="paid").first(), what="payment")

        page.get_by_role("link", name="Reload").click()
        expect(page.locator('[data-field="status"]')).to_have_text("Paid")
        expect(page.locator('[data-field="total"]')).to_have_text("12.50 EUR")
    finally:
        context.close()


def test_the_form_shows_errors_next_to_the_fields_in_the_browser(page, site_url, page_requests, catalog):
    page.goto(site_url + "/")
    page.get_by_label("Email").fill("not-an-email")
    page.get_by_role("button", name="Place order").click()
    expect(page.locator("#customer_email-errors")).to_contain_text("Enter a valid email address.")
    expect(page.locator("#customer_name-errors")).to_contain_text("This field is required.")
    expect(page.locator("#order-errors")).to_contain_text("Choose a quantity")
    expect(page.get_by_label("Email")).to_have_value("not-an-email")
    assert_requests_stay_on_site(page_requests, site_url)


@pytest.mark.parametrize("path", ["/admin/", "/reports/"])
def test_an_anonymous_visitor_is_sent_to_log_in(page, site_url, page_requests, path):
    page.goto(site_url + path)
    expect(page).to_have_url(re.compile(rf"/admin/login/\?next={re.escape(path)}$"))
    expect(page.get_by_label("Password")).to_be_visible()
    assert_requests_stay_on_site(page_requests, site_url)


def test_without_chromium_the_browser_tests_fail_saying_how_to_install_it(monkeypatch, tmp_path):
    monkeypatch.delenv("CHROMIUM_PATH", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty folder: no chromium on it
    with pytest.raises(pytest.fail.Exception, match=r"apt-get install -y chromium"):
        chromium_executable()
