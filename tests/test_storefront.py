"""The storefront (issue 5 item 5): the catalog, the order form through the gateway, the status page.

Security rows: S3 (CSRF token missing or wrong: 403), S4 (a cross-site POST with a valid session:
403), S16 (HTML in names, addresses, carriers shown escaped). The store-down test runs the site
under gunicorn on an SQLite file that is moved away, as tests/test_gateway_store_down.py does.

R28 (the form sent twice: one order, one charge): the form's one-time key, here through Django's
test client, inline and with the embedded worker (EMBEDDED_WORKER=thread), and two posts of one
key at the same moment; tests/test_browser_storefront.py double-clicks and resubmits in Chromium.
"""

import html
import re
import sqlite3
import threading
import urllib.error
import urllib.request
import uuid
from contextlib import closing
from decimal import Decimal
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.http import HttpRequest
from django.test import Client

from billing.payment_gateway import FakePaymentGateway, PaymentGatewayUnavailable
from eventstore import background
from eventstore.store import EventStore
from gateway.models import IdempotencyRecord, Partner
from gateway.one_time_keys import is_key
from gateway.service import INPUT_STREAM, receive_message
from orders.models import OrderSummary
from readside.models import Product
from readside.storefront.catalog import CatalogItem
from readside.storefront.forms import NO_LINES, NOT_A_COUNTRY, ORDER_KEY_NOT_VALID
from readside.storefront.order_status import is_settled
from readside.storefront.ordering import (
    ORDER_ID_NAMESPACE,
    MixedCurrencies,
    OrderRequest,
    ProductsUnavailable,
    ShippingAddress,
    web_order_message,
)
from readside.storefront.views import STORE_DOWN
from tests.browser import processed
from tests.flows import dispatched, orders_and_charges, web_order
from tests.serving import Answer, http, manage, serve, site_environment
from tests.threads import TIMEOUT, in_threads

pytestmark = pytest.mark.django_db(transaction=True)

HOSTILE_NAME = '<script>alert("name")</script>'
HOSTILE_CARRIER = "<img src=x onerror=alert(1)>"


def order_form(**overrides: str) -> dict[str, str]:
    """A valid order form for the demo catalog: 2 red tees M and 1 blue mug, with a key of its own."""
    return {
        "order_key": str(uuid.uuid4()),
        "customer_name": "Ann",
        "customer_email": "ann@example.com",
        "line1": "1 Via Roma",
        "city": "Rome",
        "postcode": "00100",
        "country": "it",
        "payment_token": "tok_ok",
        "quantity_TEE-RED-M": "2",
        "quantity_MUG-LOGO": "1",
        **overrides,
    }


@pytest.fixture
def catalog():
    call_command("loaddata", "demo_catalog", verbosity=0)
    return {p.sku: p for p in Product.objects.all()}


@pytest.fixture
def flowing(settings):
    """Orders flow through the components and the projectors in-process, as under `make run`."""
    settings.CONSUMER_DELIVERY_ON_COMMIT = settings.PROJECTIONS_ON_COMMIT = True


def summary_once(order_id: str, **state: str) -> OrderSummary:
    """The order's summary once it is in `state` (the flow runs on commit; the sweeps catch up)."""
    return processed(
        lambda: OrderSummary.objects.filter(order_id=order_id, **state).first(), what=f"order {order_id} {state}"
    )


def input_messages() -> list:
    return list(EventStore().read_stream(INPUT_STREAM))


def order_id_of(response) -> str:
    assert response.status_code == 303, response.content[:2000]
    match = re.fullmatch(r"/orders/([0-9a-f-]{36})/", response["Location"])
    assert match, response["Location"]
    return match.group(1)


def key_shown(page) -> str:
    """The one-time key the order form on this page carries."""
    match = re.search(r'<input type="hidden" name="order_key" value="([^"]*)"', page.content.decode())
    assert match, "the form carries no one-time key"
    return match.group(1)


# --- the catalog ----------------------------------------------------------------------------


def test_the_catalog_lists_active_products_only(client):
    Product.objects.create(sku="ON-SALE", name="Sold here", unit_price=Decimal("5.00"))
    Product.objects.create(sku="RETIRED", name="Not sold any more", unit_price=Decimal("6.00"), active=False)
    page = client.get("/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "ON-SALE" in text and "Sold here" in text and 'name="quantity_ON-SALE"' in text
    assert "RETIRED" not in text and "Not sold any more" not in text


def test_html_in_a_product_name_is_shown_escaped(client):
    Product.objects.create(sku="X-1", name=HOSTILE_NAME, description="<b>bold</b>", unit_price=Decimal("1.00"))
    text = client.get("/").content.decode()
    assert HOSTILE_NAME not in text and "<b>bold</b>" not in text
    assert html.escape(HOSTILE_NAME) in text and "&lt;b&gt;bold&lt;/b&gt;" in text


# --- placing an order -----------------------------------------------------------------------


def test_a_valid_order_is_posted_once_through_the_gateway_in_the_web_shape_and_leads_to_its_status_page(
    client, catalog
):
    form = order_form(customer_name=HOSTILE_NAME)
    response = client.post("/", form)
    order_id = order_id_of(response)
    assert order_id == str(uuid.uuid5(ORDER_ID_NAMESPACE, form["order_key"]))  # the key gives the order id

    [message] = input_messages()
    assert message.event_type == "ShopDataReceived"
    assert message.data == {
        "order_id": order_id,
        "customer": {"email": "ann@example.com", "name": HOSTILE_NAME},  # stored as typed; escaped when shown
        "lines": [
            {"sku": "MUG-LOGO", "quantity": 1, "unit_price": str(catalog["MUG-LOGO"].unit_price)},
            {"sku": "TEE-RED-M", "quantity": 2, "unit_price": "19.90"},
        ],
        "currency": "EUR",
        "shipping_address": {"line1": "1 Via Roma", "city": "Rome", "postcode": "00100", "country": "IT"},
        "payment": {"method": "card", "token": "tok_ok"},
    }
    assert {k: message.metadata[k] for k in ("applies", "source", "partner", "idempotency_key")} == {
        "applies": "order",
        "source": "web",
        "partner": "storefront",
        "idempotency_key": form["order_key"],
    }
    assert Partner.objects.get(name="storefront").allowed_sources == ["web"]


def test_each_order_gets_its_own_unguessable_id_and_the_storefront_partner_is_made_once(client, catalog):
    first, second = (order_id_of(client.post("/", order_form())) for _ in range(2))
    assert first != second
    assert Partner.objects.filter(name="storefront").count() == 1
    assert [m.data["order_id"] for m in input_messages()] == [first, second]


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"customer_name": ""}, "customer_name", "This field is required."),
        ({"customer_email": "not-an-email"}, "customer_email", "Enter a valid email address."),
        ({"line1": ""}, "line1", "This field is required."),
        ({"country": "ITA"}, "country", NOT_A_COUNTRY),
        ({"country": "1T"}, "country", NOT_A_COUNTRY),
        ({"payment_token": "tok_real_card"}, "payment_token", "Select a valid choice."),
    ],
)
def test_an_invalid_field_is_shown_with_its_error_next_to_it_and_nothing_is_stored(
    client, catalog, overrides, field, message
):
    page = client.post("/", order_form(**overrides))
    assert page.status_code == 200
    text = page.content.decode()
    errors = re.search(rf'<div class="errors" id="{field}-errors">(.*?)</div>', text, re.S)
    assert errors, f"no errors shown next to {field}"
    assert html.escape(message) in errors.group(1)
    assert 'value="1 Via Roma"' in text or field == "line1"  # the input is kept
    assert input_messages() == []


def test_an_order_without_any_quantity_is_refused_and_nothing_is_stored(client, catalog):
    page = client.post("/", order_form(**{"quantity_TEE-RED-M": "0", "quantity_MUG-LOGO": ""}))
    assert page.status_code == 200
    errors = re.search(r'<div class="errors" id="order-errors" role="alert">(.*?)</div>', page.content.decode(), re.S)
    assert errors and NO_LINES in errors.group(1)
    assert input_messages() == []


@pytest.mark.parametrize("quantity", ["-1", "100", "two", "1.5"])
def test_a_quantity_out_of_range_or_not_whole_is_refused_next_to_its_product(client, catalog, quantity):
    page = client.post("/", order_form(**{"quantity_TEE-RED-M": quantity}))
    assert page.status_code == 200
    row = re.search(r'name="quantity_TEE-RED-M".*?</tr>', page.content.decode(), re.S)
    assert row and '<div class="errors">' in row.group(0)
    assert input_messages() == []


def test_a_product_retired_while_the_form_was_open_is_refused(client, catalog):
    form = client.get("/")  # the customer sees the mug...
    assert b"quantity_MUG-LOGO" in form.content
    Product.objects.filter(sku="MUG-LOGO").update(active=False)  # ...staff retire it...
    page = client.post("/", order_form(**{"quantity_TEE-RED-M": "0"}))  # ...the post orders only the mug
    assert page.status_code == 200
    assert NO_LINES in page.content.decode()  # a retired product's field is no longer part of the form
    assert input_messages() == []


def test_the_message_is_priced_from_the_catalog_in_one_currency():
    order = OrderRequest(
        customer_name="Ann",
        customer_email="ann@example.com",
        shipping_address=ShippingAddress("1 Via Roma", "Rome", "00100", "IT"),
        quantities={"A": 1, "B": 2},
        payment_token="tok_ok",
    )
    eur = CatalogItem("A", "a", "", Decimal("1.50"), "EUR")
    usd = CatalogItem("B", "b", "", Decimal("2.00"), "USD")
    with pytest.raises(MixedCurrencies):
        web_order_message("id", order, {"A": eur, "B": usd})
    with pytest.raises(ProductsUnavailable) as missing:
        web_order_message("id", order, {"A": eur})
    assert missing.value.skus == ["B"]
    message = web_order_message("id", order, {"A": eur, "B": CatalogItem("B", "b", "", Decimal("2.00"), "EUR")})
    assert message["lines"] == [
        {"sku": "A", "quantity": 1, "unit_price": "1.50"},
        {"sku": "B", "quantity": 2, "unit_price": "2.00"},
    ]


# --- the one-time key: the form sent twice (R28) -----------------------------------------------


def test_each_form_shown_carries_a_one_time_key_of_its_own(catalog):
    first, second = key_shown(Client().get("/")), key_shown(Client().get("/"))
    assert first != second
    assert is_key(first) and uuid.UUID(first).version == 4
    client = Client()
    assert key_shown(client.get("/")) != key_shown(client.get("/"))  # none posted yet: nothing kept
    assert "order_key" not in client.get("/").cookies  # a visit alone sets no cookie of its own


def test_once_posted_the_form_shown_again_carries_its_key_and_says_which_order_it_placed(client, catalog, flowing):
    """A browser going back to the form may load it anew (Chromium does) and put the input back."""
    form = order_form()
    answer = client.post("/", form)
    order_id = order_id_of(answer)
    kept = answer.cookies["order_key"]
    assert (kept.value, kept["max-age"], kept["httponly"], kept["samesite"]) == (form["order_key"], 1800, True, "Lax")
    summary_once(order_id, status="paid", shipment_status="requested")

    again = client.get("/")
    assert key_shown(again) == form["order_key"]
    notice = re.search(
        r'<div class="notice" role="status" id="placed-before">(.*?)</div>', again.content.decode(), re.S
    )
    assert notice, "the form does not say it placed an order"
    assert f'href="/orders/{order_id}/"' in notice.group(1) and 'href="/?new"' in notice.group(1)
    assert order_id_of(client.post("/", {**form, "order_key": key_shown(again)})) == order_id  # sent again

    new = client.get("/?new")  # "Start a new order"
    assert key_shown(new) != form["order_key"]
    assert new.cookies["order_key"].value == "" and 'id="placed-before"' not in new.content.decode()
    assert key_shown(client.get("/")) not in (form["order_key"], key_shown(new))  # nothing kept any more
    assert orders_and_charges(order_id) == (1, 1, 1, 1)


def test_the_form_says_it_placed_an_order_before_the_order_is_processed(client, catalog):
    """No consumer group nor projector runs here: the order summary does not exist yet, and the
    form shown again says all the same that it placed an order (the gateway has its key)."""
    form = order_form()
    order_id = order_id_of(client.post("/", form))
    again = client.get("/")
    assert key_shown(again) == form["order_key"]
    assert 'id="placed-before"' in again.content.decode()
    assert f'href="/orders/{order_id}/"' in again.content.decode()


def test_over_https_the_key_is_kept_in_a_secure_host_only_cookie(client, catalog):
    form = order_form()
    answer = client.post("/", form, secure=True)
    kept = answer.cookies["__Host-order_key"]
    assert (kept.value, kept["secure"], kept["path"], kept["domain"]) == (form["order_key"], True, "/", "")
    assert "order_key" not in answer.cookies
    assert key_shown(client.get("/", secure=True)) == form["order_key"]


def test_a_kept_key_that_is_not_one_is_ignored(client, catalog):
    client.cookies["order_key"] = "' OR 1=1 --"
    page = client.get("/")
    assert is_key(key_shown(page)) and 'id="placed-before"' not in page.content.decode()


def test_the_same_form_posted_twice_places_one_order_charges_once_and_leads_to_the_same_status_page(
    client, catalog, flowing
):
    """A double click without JavaScript, a reload of the post, back and resubmit: the same form."""
    form = order_form()
    first, again = client.post("/", form), client.post("/", form)
    order_id = order_id_of(first)
    assert order_id_of(again) == order_id
    summary_once(order_id, status="paid", shipment_status="requested")
    assert client.post("/", form)["Location"] == f"/orders/{order_id}/"  # and once the order is paid
    assert orders_and_charges(order_id) == (1, 1, 1, 1)
    assert IdempotencyRecord.objects.get().key == form["order_key"]


def test_the_same_form_changed_after_going_back_places_nothing_and_is_shown_again_with_a_fresh_key(client, catalog):
    form = order_form()
    order_id = order_id_of(client.post("/", form))
    changed = client.post("/", {**form, "quantity_TEE-RED-M": "3"})

    assert changed.status_code == 200
    text = changed.content.decode()
    placed_before = re.search(r'<div class="alert" role="alert" id="placed-before">(.*?)</div>', text, re.S)
    assert placed_before, "the customer is not told the form placed an order already"
    assert f'href="/orders/{order_id}/"' in placed_before.group(1)
    assert "it was not placed" in placed_before.group(1)
    assert re.search(r'name="quantity_TEE-RED-M" value="3"', text)  # the change is kept, to place if wanted
    fresh_key = key_shown(changed)
    assert is_key(fresh_key) and fresh_key != form["order_key"]
    assert len(input_messages()) == 1

    # Placed again as shown, it is a new order, on purpose.
    second = order_id_of(client.post("/", {**form, "quantity_TEE-RED-M": "3", "order_key": fresh_key}))
    assert second != order_id
    assert [m.data["order_id"] for m in input_messages()] == [order_id, second]


def test_a_form_shown_again_for_an_error_keeps_its_key(client, catalog):
    form = order_form(customer_email="not-an-email")
    page = client.post("/", form)
    assert page.status_code == 200 and "Enter a valid email address." in page.content.decode()
    assert key_shown(page) == form["order_key"]  # nothing was stored: the corrected form is the same order
    order_id = order_id_of(client.post("/", {**form, "customer_email": "ann@example.com"}))
    assert order_id == str(uuid.uuid5(ORDER_ID_NAMESPACE, form["order_key"]))


@pytest.mark.parametrize(
    "key",
    [
        None,
        "",
        "not-a-key",
        str(uuid.uuid4()).upper(),
        str(uuid.uuid1()),
        str(uuid.uuid4()).replace("-", ""),
        "x" * 5000,
        "' OR 1=1 --",
        "<script>alert(1)</script>",
    ],
    ids=["missing", "empty", "words", "upper-case", "uuid1", "no-hyphens", "5000-chars", "sql", "html"],
)
def test_a_missing_or_malformed_key_is_a_form_error_and_nothing_is_stored(client, catalog, key):
    form = order_form()
    if key is None:
        del form["order_key"]
    else:
        form["order_key"] = key
    page = client.post("/", form)
    assert page.status_code == 200
    text = page.content.decode()
    errors = re.search(r'<div class="errors" id="order-errors" role="alert">(.*?)</div>', text, re.S)
    assert errors and html.escape(ORDER_KEY_NOT_VALID) in errors.group(1)
    assert 'value="1 Via Roma"' in text  # the input is kept
    assert is_key(key_shown(page))  # with a key that can be placed
    assert "<script>alert(1)</script>" not in text
    assert input_messages() == []


@pytest.mark.postgresql
def test_the_same_form_posted_from_two_threads_at_the_same_moment_places_one_order(catalog, flowing):
    clients = 4
    form = order_form()
    barrier = threading.Barrier(clients, timeout=TIMEOUT)

    def place(_: int) -> str:
        client = Client()
        barrier.wait()
        return order_id_of(client.post("/", form))

    order_ids = in_threads(clients, place)
    assert len(set(order_ids)) == 1
    summary_once(order_ids[0], status="paid", shipment_status="requested")
    assert orders_and_charges(order_ids[0]) == (1, 1, 1, 1)


# --- the embedded worker: the post answers at once (R28) ------------------------------------


class HeldPaymentGateway(FakePaymentGateway):
    """The fake provider, whose charges wait until the test lets them go (bounded)."""

    charging = threading.Event()
    released = threading.Event()
    answered: list[str] = []  # the idempotency keys of the charges answered or failed

    def charge(self, *, idempotency_key: str, **charge):
        HeldPaymentGateway.charging.set()
        try:
            if not HeldPaymentGateway.released.wait(timeout=TIMEOUT):
                raise PaymentGatewayUnavailable("held for too long")
            return super().charge(idempotency_key=idempotency_key, **charge)
        finally:
            HeldPaymentGateway.answered.append(idempotency_key)


@pytest.fixture
def embedded_worker(settings, transactional_db, flowing):
    """Orders flow through the process's background worker, as under `make run`; the worker has
    finished before the test's database is emptied."""
    settings.EMBEDDED_WORKER = "thread"
    yield
    assert background.wait_until_idle(timeout=TIMEOUT), f"the worker still has {background.pending()} to do"


@pytest.fixture
def held_payments(settings):
    settings.BILLING_PAYMENT_GATEWAY = "tests.test_storefront.HeldPaymentGateway"
    HeldPaymentGateway.charging.clear()
    HeldPaymentGateway.released.clear()
    HeldPaymentGateway.answered.clear()
    yield HeldPaymentGateway
    HeldPaymentGateway.released.set()  # whatever happened, nothing stays held


def test_with_the_embedded_worker_the_post_answers_before_the_payment_is_taken_and_the_page_follows(
    client, catalog, embedded_worker, held_payments
):
    order_id = order_id_of(client.post("/", order_form()))
    assert held_payments.charging.wait(timeout=TIMEOUT), "the worker never took the payment"
    assert held_payments.answered == []  # the post answered while the payment was being taken

    state = client.get(f"/orders/{order_id}/status.json").json()
    assert (state["settled"], state["payment_status"]) == (False, "—")
    assert 'data-settled="false"' in client.get(f"/orders/{order_id}/").content.decode()

    held_payments.released.set()
    summary_once(order_id, status="paid", shipment_status="requested")
    state = client.get(f"/orders/{order_id}/status.json").json()
    assert (state["settled"], state["status"], state["payment_status"]) == (False, "Paid", "Received")
    assert orders_and_charges(order_id) == (1, 1, 1, 1)


def test_with_the_embedded_worker_the_same_form_posted_twice_places_one_order_and_one_charge(
    client, catalog, embedded_worker
):
    form = order_form(payment_token="tok_flaky")  # the charge waits out two backoffs meanwhile
    order_id = order_id_of(client.post("/", form))
    assert order_id_of(client.post("/", form)) == order_id
    summary_once(order_id, status="paid", shipment_status="requested")
    assert order_id_of(client.post("/", form)) == order_id
    assert orders_and_charges(order_id) == (1, 1, 1, 1)


# --- CSRF (S3, S4) --------------------------------------------------------------------------


def csrf_token_of(client: Client) -> str:
    page = client.get("/")
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode()).group(1)


def test_the_order_form_without_a_csrf_token_is_refused(catalog):
    client = Client(enforce_csrf_checks=True)
    client.get("/")  # the CSRF cookie is set, but the form sends no token
    assert client.post("/", order_form()).status_code == 403
    assert input_messages() == []


def test_the_order_form_with_a_wrong_csrf_token_is_refused(catalog):
    client = Client(enforce_csrf_checks=True)
    csrf_token_of(client)
    response = client.post("/", order_form(csrfmiddlewaretoken="x" * 64))
    assert response.status_code == 403
    assert input_messages() == []


def test_a_cross_site_post_carrying_a_valid_session_is_refused(catalog):
    User.objects.create_user("ann", password="pass-word-1234")
    client = Client(enforce_csrf_checks=True)
    assert client.login(request=HttpRequest(), username="ann", password="pass-word-1234")  # axes: a request
    token = csrf_token_of(client)

    # Another site's page posts to the shop: the browser sends the shop's cookies and its own Origin.
    forged = client.post("/", order_form(csrfmiddlewaretoken=token), HTTP_ORIGIN="https://evil.example")
    assert forged.status_code == 403
    assert input_messages() == []
    # The same post from the shop's own page goes through: the token and session were good.
    assert client.post("/", order_form(csrfmiddlewaretoken=token), HTTP_ORIGIN="http://testserver").status_code == 303


# --- the status page ------------------------------------------------------------------------


def test_the_status_page_says_processing_until_the_order_summary_row_exists(client, catalog):
    """No projector runs here: the browser that placed the order (its kept form key) sees it as
    being processed; tests/test_status_page.py has an id no one placed (404)."""
    order_id = order_id_of(client.post("/", order_form()))
    page = client.get(f"/orders/{order_id}/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "are processing it" in text and 'data-settled="false"' in text
    assert "no-cache" in page["Cache-Control"]
    assert f'href="/orders/{order_id}/"' in text  # a plain reload link, for browsers without JavaScript
    assert client.get(f"/orders/{order_id}/status.json").json() == {
        "order_id": order_id,
        "known": False,
        "settled": False,
        "headline": "We have your order and are processing it.",
        "customer_name": "—",
        "status": "Processing",
        "payment_status": "—",
        "shipment_status": "—",
        "carrier": "—",
        "tracking_number": "—",
        "total": "—",
        "lines": [],
        "address": "—",
        "next_step": "",
        "retry_url": "",
        "return_note": "",
        "return_steps": [],
        "updates": "This page updates by itself.",
    }


def test_the_pages_have_no_inline_script_so_a_content_security_policy_can_forbid_it(client, catalog):
    order_id = order_id_of(client.post("/", order_form()))  # being processed, for this browser
    pages = {path: client.get(path).content.decode() for path in ("/", f"/orders/{order_id}/")}
    for path, text in pages.items():
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text), path
        assert not re.search(r"\son[a-z]+=", text), path  # no event handler attributes
        assert not re.search(r"https?://", text), path  # every asset from the site itself
    form_page, status_page = pages.values()
    assert '<script src="/static/storefront/order-form.js" defer></script>' in form_page
    assert '<script src="/static/storefront/order-status.js" defer></script>' in status_page
    assert '<link rel="stylesheet" href="/static/storefront/storefront.css">' in form_page


def test_an_order_id_that_is_not_a_uuid_is_not_found(client):
    assert client.get("/orders/42/").status_code == 404
    assert client.get("/orders/42/status.json").status_code == 404


def test_the_status_page_shows_the_order_from_its_summary_escaped_and_follows_it_once_paid(client, catalog, flowing):
    order_id = order_id_of(client.post("/", order_form(customer_name=HOSTILE_NAME)))
    summary_once(order_id, status="paid", shipment_status="requested")

    page = client.get(f"/orders/{order_id}/")
    text = page.content.decode()
    assert HOSTILE_NAME not in text and html.escape(HOSTILE_NAME) in text  # S16
    for shown in ("Thank you: your order is paid.", "Paid", "Received", "Being prepared", "Red tee, M", "52.30 EUR"):
        assert shown in text
    assert 'data-settled="false"' in text  # a paid order is still to be dispatched: the page follows it

    state = client.get(f"/orders/{order_id}/status.json").json()
    assert (state["known"], state["settled"], state["status"], state["payment_status"]) == (
        True,
        False,
        "Paid",
        "Received",
    )
    assert state["customer_name"] == HOSTILE_NAME  # JSON carries the text; the script shows it as text
    assert state["total"] == "52.30 EUR"
    assert state["lines"] == [
        {"sku": "MUG-LOGO", "name": "Logo mug", "quantity": 1, "unit_price": "12.50 EUR", "amount": "12.50 EUR"},
        {"sku": "TEE-RED-M", "name": "Red tee, M", "quantity": 2, "unit_price": "19.90 EUR", "amount": "39.80 EUR"},
    ]

    warehouse = Partner.objects.create(name="warehouse", allowed_sources=["warehouse"])
    receive_message({**dispatched(order_id), "carrier": HOSTILE_CARRIER}, caller=warehouse)
    summary_once(order_id, status="dispatched")
    text = client.get(f"/orders/{order_id}/").content.decode()
    assert "Your order is on its way." in text and f"T-{order_id}" in text
    assert 'data-settled="false"' in text  # and still to be delivered
    assert HOSTILE_CARRIER not in text and html.escape(HOSTILE_CARRIER) in text  # S16


def test_a_declined_payment_settles_the_order(client, catalog, flowing):
    order_id = order_id_of(client.post("/", order_form(payment_token="tok_decline")))
    summary_once(order_id, status="payment_declined")
    state = client.get(f"/orders/{order_id}/status.json").json()
    assert (state["status"], state["payment_status"], state["settled"]) == ("Payment declined", "Declined", True)


def test_another_partners_order_is_not_shown_by_the_storefront(client, flowing):
    order_id = str(uuid.uuid4())
    acme = Partner.objects.create(name="acme", allowed_sources=["web"])
    receive_message(web_order(order_id, "tok_ok"), caller=acme)
    summary_once(order_id, partner="acme")
    assert client.get(f"/orders/{order_id}/status.json").json()["known"] is False
    assert client.get(f"/orders/{order_id}/").status_code == 404


@pytest.mark.parametrize(
    ("status", "shipment_status", "settled"),
    [
        ("placed", "", False),
        ("paid", "", False),
        ("paid", "requested", False),
        ("payment_declined", "", True),
        ("cancelled", "cancelled", True),
        ("dispatched", "dispatched", False),
        ("delivered", "delivered", True),
        ("return_requested", "delivered", False),
        ("returned", "delivered", True),
    ],
)
def test_when_an_order_is_settled(status, shipment_status, settled):
    assert is_settled(OrderSummary(status=status, shipment_status=shipment_status)) is settled
    assert is_settled(None) is False


# --- the store down -------------------------------------------------------------------------


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def form_post(url: str, fields: dict[str, str], *, cookie: str, token: str) -> Answer:
    """POST a form as a browser does, without following a redirect (a 303 is an answer)."""
    body = urlencode({**fields, "csrfmiddlewaretoken": token}).encode()
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie}
    request = urllib.request.Request(url, data=body, method="POST", headers=headers)
    try:
        with urllib.request.build_opener(_NoRedirect).open(request, timeout=10) as response:
            return Answer(response.status, response.headers, response.read())
    except urllib.error.HTTPError as error:
        with error:
            return Answer(error.code, error.headers, error.read())


def test_an_order_posted_while_the_store_is_down_shows_a_message_keeps_the_input_and_stores_nothing(tmp_path: Path):
    home, away = tmp_path / "store", tmp_path / "store-moved-away"
    home.mkdir()
    database = home / "db.sqlite3"
    env = site_environment(DATABASE_URL=f"sqlite:///{database}")
    manage("migrate", "--noinput", env=env)
    manage("loaddata", "demo_catalog", env=env)

    with serve(env) as site:
        form = http("GET", f"{site.url}/")
        assert form.status == 200
        cookie = SimpleCookie(form.headers["Set-Cookie"])["csrftoken"]
        token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', form.body).group(1).decode()
        fields = order_form(customer_name="Ann Outage", city="Ragusa")

        home.rename(away)  # SQLite cannot open the file, and must not create an empty one
        try:
            down = form_post(f"{site.url}/", fields, cookie=f"csrftoken={cookie.value}", token=token)
        finally:
            away.rename(home)
        assert down.status == 503, down.body[:3000]
        text = down.body.decode()
        assert html.escape(STORE_DOWN) in text
        assert 'value="Ann Outage"' in text and 'value="Ragusa"' in text  # the input is kept...
        assert re.search(r'name="quantity_TEE-RED-M" value="2"', text)  # ...quantities too

        placed = form_post(f"{site.url}/", fields, cookie=f"csrftoken={cookie.value}", token=token)
        assert placed.status == 303, placed.body[:3000]
        assert re.fullmatch(r"/orders/[0-9a-f-]{36}/", placed.headers["Location"])

    with closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as db:
        stored = db.execute("SELECT count(*) FROM eventstore_event WHERE stream_id = ?", [INPUT_STREAM]).fetchone()[0]
    assert stored == 1  # only the order posted once the store was back
