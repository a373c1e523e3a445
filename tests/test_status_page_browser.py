"""The order status page in Chromium at 1280 and 390 px, in each state an order can be in: being
processed, placed, paid, declined, cancelled, dispatched, delivered, return requested, returned,
and an order no one placed. Each fails on sideways scrolling; the screenshots go to
tests.browser.SHOTS (status-<state>-1280.png, -390.png).

And the page following an order by itself, no reload: paid, then dispatched, then delivered, when
the customer asks for its return (through the gateway), then returned and refunded."""

import re
import uuid

import pytest
from django.core.management import call_command
from django.utils import timezone
from playwright.sync_api import expect

from gateway.models import Partner
from gateway.service import receive_message
from orders.models import OrderSummary
from tests.browser import TIMEOUT_MS, assert_no_sideways_scroll, assert_requests_stay_on_site, processed, screenshots
from tests.flows import dispatched

pytestmark = pytest.mark.django_db(transaction=True)

#: state: (order status, payment, shipment), the headline's start.
STATES = {
    "placed": (("placed", "", ""), "Your order is placed; we are taking the payment."),
    "paid": (("paid", "captured", "requested"), "Thank you: your order is paid."),
    "payment-declined": (("payment_declined", "declined", ""), "Your payment was declined"),
    "cancelled": (("cancelled", "refunded", "cancelled"), "Your order was cancelled."),
    "dispatched": (("dispatched", "captured", "dispatched"), "Your order is on its way."),
    "delivered": (("delivered", "captured", "delivered"), "Your order has been delivered."),
    "return-requested": (("return_requested", "captured", "delivered"), "We have your return request"),
    "returned": (("returned", "refunded", "delivered"), "Your return has arrived: the payment is refunded."),
}
#: A long name and a long street, as people have: they wrap on a phone, never widen the page.
LONG_NAME = "Annunziata Maria-Benedetta Caterina Dell'Acqua-Fontanarossa"
LONG_STREET = "Via dei Santissimi Quattro Coronati Inferiore 1234, scala B, interno 56"


@pytest.fixture
def catalog():
    call_command("loaddata", "demo_catalog", verbosity=0)


def storefront_order(status: str, payment: str, shipment: str) -> str:
    order_id = str(uuid.uuid4())
    OrderSummary.objects.create(
        order_id=order_id,
        partner="storefront",
        status=status,
        customer_name=LONG_NAME,
        shipping_line1=LONG_STREET,
        shipping_city="Reggio nell'Emilia",
        shipping_postcode="42121",
        shipping_country="IT",
        currency="EUR",
        total="133.80",
        lines=[
            {"sku": "HOODIE-GRY-L", "quantity": 2, "unit_price": "49.00"},
            {"sku": "SOCKS-3PK", "quantity": 1, "unit_price": "14.90"},
            {"sku": "TEE-RED-M", "quantity": 1, "unit_price": "19.90"},
        ],
        payment_status=payment,
        shipment_status=shipment,
        carrier="DHL Express" if shipment in ("dispatched", "delivered") else "",
        tracking_number="JJD0099999999012345678" if shipment in ("dispatched", "delivered") else "",
        updated_at=timezone.now(),
    )
    return order_id


@pytest.mark.parametrize("state", STATES)
def test_each_state_fits_a_laptop_and_a_phone(page, site_url, page_errors, catalog, state):
    (status, payment, shipment), headline = STATES[state]
    page.goto(f"{site_url}/orders/{storefront_order(status, payment, shipment)}/")
    expect(page.locator('[data-field="headline"]')).to_contain_text(headline)
    expect(page.locator('[data-field="lines"] tr').first).to_contain_text("Grey hoodie, L")
    expect(page.locator('[data-field="address"]')).to_contain_text("42121 Reggio nell'Emilia")
    if state == "payment-declined":
        expect(page.get_by_role("link", name="Order again with another card")).to_be_visible()
    expect(page.get_by_role("button", name="Request a return")).to_be_visible(visible=state == "delivered")
    screenshots(page, f"status-{state}")
    page.set_viewport_size({"width": 390, "height": 900})
    assert_no_sideways_scroll(page)
    assert page_errors == []


def test_an_order_no_one_placed_says_so_at_both_widths_and_polls_nothing(page, site_url, page_requests):
    answer = page.goto(f"{site_url}/orders/{uuid.uuid4()}/")
    assert answer.status == 404
    expect(page.get_by_role("heading", name="We cannot find this order")).to_be_visible()
    screenshots(page, "status-unknown")
    assert not any("status.json" in url or "order-status.js" in url for url in page_requests)


def fill_and_place(page, site_url: str, token: str) -> str:
    page.goto(site_url + "/")
    page.get_by_label("Red tee, M").fill("2")
    for label, value in [("Name", "Ann"), ("Email", "ann@example.com"), ("Address", "1 Via Roma"),
                         ("City", "Rome"), ("Postcode", "00100")]:  # fmt: skip
        page.get_by_label(label).fill(value)
    page.get_by_label("Country").select_option("IT")
    page.get_by_label("Payment").select_option(token)
    page.get_by_role("button", name="Place order").click()
    expect(page).to_have_url(re.compile(r"/orders/[0-9a-f-]{36}/$"))
    return page.url.rstrip("/").rsplit("/", 1)[-1]


def test_an_order_being_processed_fits_both_widths(page, site_url, catalog, settings):
    settings.CONSUMER_DELIVERY_ON_COMMIT = settings.PROJECTIONS_ON_COMMIT = False  # nothing follows yet
    fill_and_place(page, site_url, "tok_ok")
    expect(page.locator('[data-field="headline"]')).to_contain_text("are processing it")
    screenshots(page, "status-received")


def test_a_declined_payment_leads_to_the_same_order_again(page, site_url, catalog, settings):
    settings.CONSUMER_DELIVERY_ON_COMMIT = settings.PROJECTIONS_ON_COMMIT = True
    fill_and_place(page, site_url, "tok_decline")
    again = page.get_by_role("link", name="Order again with another card")
    expect(again).to_be_visible(timeout=TIMEOUT_MS)  # shown by the script when the refusal comes
    expect(page.locator("[data-order-status]")).to_have_attribute("data-settled", "true")
    again.click()
    expect(page.get_by_label("Red tee, M")).to_have_value("2")
    expect(page.get_by_label("Logo mug")).to_have_value("0")


def test_the_page_follows_the_order_to_its_dispatch_delivery_and_return_by_itself(
    page, site_url, page_requests, page_errors, catalog, settings
):
    settings.CONSUMER_DELIVERY_ON_COMMIT = settings.PROJECTIONS_ON_COMMIT = True
    order_id = fill_and_place(page, site_url, "tok_ok")
    status = page.locator('[data-field="status"]')
    expect(status).to_have_text("Paid", timeout=TIMEOUT_MS)
    page.evaluate("window.stillTheFirstLoad = true")  # gone if the page reloaded

    warehouse = Partner.objects.create(name="warehouse", allowed_sources=["warehouse"])
    receive_message(dispatched(order_id), caller=warehouse)
    processed(lambda: OrderSummary.objects.filter(order_id=order_id, status="dispatched").first(), what="dispatch")
    expect(status).to_have_text("Dispatched", timeout=TIMEOUT_MS)
    expect(page.locator('[data-field="tracking_number"]')).to_have_text(f"T-{order_id}")
    expect(page.get_by_role("button", name="Request a return")).to_be_hidden()

    receive_message({**dispatched(order_id), "status": "delivered"}, caller=warehouse)
    processed(lambda: OrderSummary.objects.filter(order_id=order_id, status="delivered").first(), what="delivery")
    expect(status).to_have_text("Delivered", timeout=TIMEOUT_MS)
    expect(page.locator("[data-order-status]")).to_have_attribute("data-settled", "true")
    assert page.evaluate("window.stillTheFirstLoad") is True

    page.get_by_role("button", name="Request a return").click()  # empty: said what is missing
    expect(page.locator("#id_reason_error")).to_contain_text("Tell us in a few words")
    page.get_by_label("Why are you sending it back?").fill("Too small")
    page.get_by_role("button", name="Request a return").click()
    expect(status).to_have_text("Return requested", timeout=TIMEOUT_MS)
    expect(page.locator('[data-field="return_steps"]')).to_contain_text("Return asked for (Too small)")
    expect(page.get_by_role("button", name="Request a return")).to_be_hidden()
    page.evaluate("window.stillTheFirstLoad = true")

    received = {"applies": "return", "source": "warehouse", "profile": "warehouse", "order_id": order_id}
    receive_message({**received, "status": "received"}, caller=warehouse)
    processed(lambda: OrderSummary.objects.filter(order_id=order_id, payment_status="refunded").first(), what="refund")
    expect(status).to_have_text("Returned", timeout=TIMEOUT_MS)
    expect(page.locator('[data-field="payment_status"]')).to_have_text("Refunded")
    expect(page.locator("[data-order-status]")).to_have_attribute("data-settled", "true", timeout=TIMEOUT_MS)
    assert page.evaluate("window.stillTheFirstLoad") is True
    screenshots(page, "status-returned-followed")
    assert page_errors == []
    assert_requests_stay_on_site(page_requests, site_url)
