"""S16: HTML and script in names, addresses, notes, SKUs, carriers and tracking numbers, sent by a
partner and typed into the storefront's form, go through the whole flow (gateway, components,
projectors) and are shown escaped on every page that shows them: the storefront's status page, the
admin's order page and change lists, the reports' tables and chart labels, the event log, the
parked messages. The storefront's status JSON and the read API carry them as data, in JSON that no
browser takes for HTML.
"""

import html
import json

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from eventstore.models import Event, ParkedMessage
from gateway.one_time_keys import new_key
from tests.flows import dispatched, web_order
from tests.partners import new_partner_key
from tests.security.surface import summary_once

pytestmark = pytest.mark.django_db(transaction=True)

NAME = "<script>alert(1)</script>"
LINE1 = "<img src=x onerror=alert(2)>"
CITY = "<svg onload=alert(3)>"
SKU = "</text><script>alert(4)</script>"
NOTE = "<iframe src=javascript:alert(5)>"
CARRIER = "<a href=javascript:alert(6)>DHL</a>"
TRACKING = "<style>*{display:none}</style>"
EMAIL = "<b>mallory</b>@example.com"
PRICE = "<script>alert(7)</script>"
HOSTILE = (NAME, LINE1, CITY, SKU, NOTE, CARRIER, TRACKING, EMAIL, PRICE)


@pytest.fixture
def shown(post) -> dict[str, str]:
    """The hostile texts through the whole flow: a partner's order and its dispatch, an order from the
    storefront's form and its dispatch, and a message parked for its price. Their ids."""
    hostile = web_order("S16-1", "tok_ok")
    hostile["customer"] = {"name": NAME, "email": EMAIL}
    hostile["shipping_address"].update(line1=LINE1, city=CITY)
    hostile["lines"][0]["sku"] = SKU
    post({**hostile, "note": NOTE})
    summary_once("S16-1", shipment_status="requested")
    post({**dispatched("S16-1"), "carrier": CARRIER, "tracking_number": TRACKING})
    post({**web_order("S16-BAD", "tok_ok"), "lines": [{"sku": "X", "quantity": 1, "unit_price": PRICE}]})

    call_command("loaddata", "demo_catalog", verbosity=0)
    form = {"customer_name": NAME, "customer_email": "ann@example.com", "line1": LINE1, "city": CITY,
            "postcode": "00100", "country": "IT", "payment_token": "tok_ok", "quantity_TEE-RED-M": "1",
            "order_key": new_key()}  # fmt: skip
    placed = Client().post("/", form)
    assert placed.status_code == 303, placed.content[:2000]
    storefront_order = placed["Location"].strip("/").rsplit("/", 1)[-1]
    summary_once(storefront_order, shipment_status="requested")
    post({**dispatched(storefront_order), "carrier": CARRIER, "tracking_number": TRACKING})

    summary_once("S16-1", status="dispatched")
    summary_once(storefront_order, status="dispatched")
    [note_event] = [e for e in Event.objects.filter(stream_id="shop-input") if e.data.get("note") == NOTE]
    return {"storefront_order": storefront_order, "input_event": str(note_event.position)}


@pytest.fixture
def staff() -> Client:
    client = Client()
    client.force_login(get_user_model().objects.create_superuser("boss", "boss@example.com", "a long password"))
    return client


def assert_escaped(page, *expected: str) -> None:
    """The page shows each of `expected` as text (escaped), and none of the hostile texts as markup."""
    assert page.status_code == 200, page.status_code
    text = page.content.decode()
    raw = [hostile for hostile in HOSTILE if hostile in text]
    assert not raw, f"shown unescaped: {raw}"
    missing = [shown for shown in expected if html.escape(shown, quote=False) not in text]
    assert not missing, f"not shown at all: {missing}"


def test_the_storefronts_status_page_shows_them_escaped(shown, client):
    assert_escaped(client.get(f"/orders/{shown['storefront_order']}/"), NAME, CARRIER, TRACKING)


def test_the_admins_order_page_and_change_lists_show_them_escaped(shown, staff):
    order_page = staff.get(reverse("admin:orders_ordersummary_change", args=["S16-1"]))
    # The row (name, carrier, tracking number, lines) and its story: every event's data, the note too.
    assert_escaped(order_page, NAME, EMAIL, CARRIER, TRACKING, SKU, LINE1, CITY, NOTE)
    assert_escaped(staff.get(reverse("admin:orders_ordersummary_changelist")), EMAIL)
    assert_escaped(staff.get(reverse("admin:orders_customerorders_changelist")), NAME, EMAIL)
    assert_escaped(staff.get(reverse("admin:orders_productsales_changelist")), SKU)
    assert_escaped(staff.get(reverse("admin:shipping_shipmentboardrow_changelist")), CITY, CARRIER, TRACKING)


def test_the_reports_tables_and_chart_labels_show_them_escaped(shown, staff):
    page = staff.get("/reports/")
    assert_escaped(page, SKU)
    top_products = page.content.decode().split('id="chart-top-products"', 1)[1].split("</svg>", 1)[0]
    assert html.escape(SKU, quote=False) in top_products  # a chart label, as text


def test_the_event_log_and_the_parked_messages_show_them_escaped(shown, staff):
    assert_escaped(staff.get(reverse("admin:eventstore_event_change", args=[shown["input_event"]])), NAME, NOTE, SKU)
    assert_escaped(staff.get(reverse("admin:eventstore_event_changelist")))
    assert_escaped(staff.get(reverse("admin:eventstore_parkedmessage_changelist")), PRICE)
    parked = ParkedMessage.objects.get()
    assert_escaped(staff.get(reverse("admin:eventstore_parkedmessage_change", args=[parked.pk])), PRICE)


def assert_json_data(answer) -> dict:
    """JSON, said to be JSON and nothing else a browser could sniff it as."""
    assert answer.status_code == 200, answer.content
    assert answer["Content-Type"] == "application/json"
    assert answer["X-Content-Type-Options"] == "nosniff"
    return json.loads(answer.content)


def test_the_status_json_and_the_read_api_carry_them_as_data(shown, client):
    state = assert_json_data(client.get(f"/orders/{shown['storefront_order']}/status.json"))
    assert (state["customer_name"], state["carrier"], state["tracking_number"]) == (NAME, CARRIER, TRACKING)

    acme = new_partner_key("reader")  # another partner sees none of it
    assert Client().get("/api/v1/orders/S16-1", headers={"Authorization": f"Api-Key {acme}"}).status_code == 404
    staff = Client()
    staff.force_login(get_user_model().objects.create_user("staff", is_staff=True))
    order = assert_json_data(staff.get("/api/v1/orders/S16-1"))
    assert (order["customer_email"], order["lines"][0]["sku"]) == (EMAIL, SKU)
    assert (order["shipment"]["carrier"], order["shipment"]["tracking_number"]) == (CARRIER, TRACKING)
