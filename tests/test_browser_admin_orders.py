"""An order's admin page in Chromium at 1280 and 390 px (issues 15 and 16): its lines, address,
failed charges and story, and time travel open beside the row now, without sideways scrolling.
Screenshots go to tests.browser.SHOTS: admin-order-<width>.png and admin-order-as-of-<width>.png,
and the time travel panel and the lines alone at 390 px."""

import pytest
from django.contrib.auth import get_user_model

from eventstore.models import Event
from orders.models import OrderSummary
from tests.browser import SHOTS, WIDTHS, assert_no_sideways_scroll, processed, screenshots
from tests.flows import cancel, web_order

pytestmark = pytest.mark.django_db(transaction=True)


def logged_in(page, site_url: str, next_url: str) -> None:
    get_user_model().objects.create_superuser("boss", "boss@example.com", "a long password")
    page.goto(f"{site_url}/admin/login/?next={next_url}")
    page.get_by_label("Username").fill("boss")
    page.get_by_label("Password").fill("a long password")
    page.get_by_role("button", name="Log in").click()


def fits_both_widths(page) -> None:
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        assert_no_sideways_scroll(page)


def test_an_orders_page_with_time_travel_open_fits_a_laptop_and_a_phone(post, page, site_url, page_errors):
    from playwright.sync_api import expect

    post(web_order("S-1", "tok_ok"))
    post(cancel("S-1"))
    processed(lambda: OrderSummary.objects.filter(order_id="S-1", shipment_status="cancelled").first(), what="S-1")
    url = "/admin/orders/ordersummary/S-1/change/"
    logged_in(page, site_url, url)
    expect(page.locator("table.order-lines")).to_contain_text("TEE-RED-M")
    expect(page.locator("address.order-address")).to_contain_text("Rome")
    fits_both_widths(page)
    screenshots(page, "admin-order")

    placed = Event.objects.get(stream_id="order-S-1", event_type="OrderPlaced")
    page.locator(f"#event-{placed.position} a.as-of").click()
    panel = page.locator("#time-travel")
    expect(panel).to_contain_text("As it was after event 2 of the story")
    expect(panel.locator("tr.tt-differs")).not_to_have_count(0)
    expect(panel.locator("tr", has_text="status").first).to_contain_text("placed")
    fits_both_widths(page)
    screenshots(page, "admin-order-as-of")
    page.set_viewport_size({"width": 390, "height": 900})  # the panel and the lines alone, to look at closely
    panel.screenshot(path=str(SHOTS / "admin-order-as-of-panel-390.png"))
    page.locator(".field-order_lines").screenshot(path=str(SHOTS / "admin-order-lines-390.png"))
    assert page_errors == []
