"""The order status page as issue 16 asks for it (docs/design.md 6.5, 6.6, 6.8): product names and
the address, plain words in every state, following the order until nothing more is to come, a way
on after a declined payment, a 404 that says so for an order no one placed, and a delivered
order's return asked for through the gateway like every other message.

The page in Chromium, in each state, at 1280 and 390 px: tests/test_status_page_browser.py."""

import re
import uuid

import pytest
from django.core.management import call_command
from django.utils import timezone

from eventstore.store import EventStore
from gateway.models import IdempotencyRecord, Partner
from gateway.service import INPUT_STREAM, receive_message
from orders.models import OrderSummary
from readside.storefront.order_status import FINISHED, UPDATING
from readside.storefront.returning import NO_REASON
from tests.browser import processed
from tests.flows import dispatched, web_order

pytestmark = pytest.mark.django_db(transaction=True)

#: Each state of a storefront order: (order status, payment, shipment), what the page says of it.
STATES = {
    "placed": (("placed", "", ""), "Placed, awaiting payment", "—", "—"),
    "paid": (("paid", "captured", "requested"), "Paid", "Received", "Being prepared"),
    "payment_declined": (("payment_declined", "declined", ""), "Payment declined", "Declined", "—"),
    "cancelled": (("cancelled", "refunded", "cancelled"), "Cancelled", "Refunded", "Cancelled"),
    "dispatched": (("dispatched", "captured", "dispatched"), "Dispatched", "Received", "Dispatched"),
    "delivered": (("delivered", "captured", "delivered"), "Delivered", "Received", "Delivered"),
    "return_requested": (("return_requested", "captured", "delivered"), "Return requested", "Received", "Delivered"),
    "returned": (("returned", "refunded", "delivered"), "Returned", "Refunded", "Delivered"),
}
FINAL = {"payment_declined", "cancelled", "delivered", "returned"}
JARGON = re.compile(r"\b(settled|captured|sku|projected|idempotency)\b", re.I)


@pytest.fixture
def catalog():
    call_command("loaddata", "demo_catalog", verbosity=0)


@pytest.fixture
def flowing(settings):
    settings.CONSUMER_DELIVERY_ON_COMMIT = settings.PROJECTIONS_ON_COMMIT = True


def storefront_order(status: str, payment: str = "", shipment: str = "", **more) -> str:
    """A storefront order's summary row in this state (as its projector writes it); its id."""
    order_id = str(uuid.uuid4())
    OrderSummary.objects.create(
        order_id=order_id,
        partner="storefront",
        status=status,
        customer_name="Ann",
        shipping_line1="1 Via Roma",
        shipping_city="Rome",
        shipping_postcode="00100",
        shipping_country="IT",
        currency="EUR",
        total="52.30",
        lines=[
            {"sku": "MUG-LOGO", "quantity": 1, "unit_price": "12.50"},
            {"sku": "TEE-RED-M", "quantity": 2, "unit_price": "19.90"},
        ],
        payment_status=payment,
        shipment_status=shipment,
        carrier="DHL" if shipment in ("dispatched", "delivered") else "",
        tracking_number="T-1" if shipment in ("dispatched", "delivered") else "",
        updated_at=timezone.now(),
        **more,
    )
    return order_id


def visible_text(page: str) -> str:
    """The page's text as read: no tags, no hidden blocks (what a script may show later)."""
    shown = re.sub(r"<(\w+)[^>]*\shidden[\s>][\s\S]*?</\1>", " ", page)
    shown = re.sub(r"<(script|style)[\s\S]*?</\1>|<[^>]+>", " ", shown)
    return re.sub(r"\s+", " ", shown)


@pytest.mark.parametrize("state", STATES)
def test_each_state_is_said_in_plain_words_with_names_and_the_address(client, catalog, state):
    (status, payment, shipment), said, paid, shipped = STATES[state]
    order_id = storefront_order(status, payment, shipment)
    page = client.get(f"/orders/{order_id}/")
    assert page.status_code == 200
    text = visible_text(page.content.decode())
    for shown in (said, paid, shipped, "Logo mug", "Red tee, M", "1 Via Roma", "00100 Rome", "Italy", "52.30 EUR"):
        assert shown in text, (state, shown)
    assert not JARGON.search(text), JARGON.search(text)
    assert "TEE-RED-M" not in text

    json = client.get(f"/orders/{order_id}/status.json").json()
    assert json["settled"] is (state in FINAL)  # the script stops polling only at a final state
    assert json["updates"] == (FINISHED if state in FINAL else UPDATING)
    assert json["address"] == "1 Via Roma\n00100 Rome\nItaly"
    assert [line["name"] for line in json["lines"]] == ["Logo mug", "Red tee, M"]


def test_a_product_no_longer_in_the_catalog_is_shown_by_its_code(client):
    order_id = storefront_order("paid", "captured", "requested")
    assert [line["name"] for line in client.get(f"/orders/{order_id}/status.json").json()["lines"]] == [
        "MUG-LOGO",
        "TEE-RED-M",
    ]


def test_an_order_no_one_placed_is_a_404_page_saying_so_with_no_polling(client):
    order_id = str(uuid.uuid4())
    page = client.get(f"/orders/{order_id}/")
    assert page.status_code == 404
    text = page.content.decode()
    assert "We cannot find this order" in text and order_id in text
    assert "order-status.js" not in text and "data-status-url" not in text
    assert client.get(f"/orders/{order_id}/status.json").status_code == 404
    assert client.post(f"/orders/{order_id}/return/", {"reason": "x"}).status_code == 404


def test_a_declined_payment_offers_the_same_order_again_with_another_card(client, catalog):
    order_id = storefront_order("payment_declined", "declined")
    text = client.get(f"/orders/{order_id}/").content.decode()
    retry = re.search(r'<div class="next-step" data-next="retry">.*?href="([^"]+)"', text, re.S)
    assert retry, "no way on after a declined payment"
    url = retry.group(1).replace("&amp;", "&")
    assert url == "/?new&quantity_MUG-LOGO=1&quantity_TEE-RED-M=2"
    form = client.get(url).content.decode()
    assert re.search(r'name="quantity_TEE-RED-M" value="2"', form)
    assert re.search(r'name="quantity_MUG-LOGO" value="1"', form)
    assert client.get(f"/orders/{order_id}/status.json").json()["retry_url"] == url


@pytest.mark.parametrize("state", sorted(set(STATES) - {"delivered"}))
def test_the_return_form_is_offered_for_a_delivered_order_only(client, catalog, state):
    (status, payment, shipment), *_ = STATES[state]
    text = client.get(f"/orders/{storefront_order(status, payment, shipment)}/").content.decode()
    assert re.search(r'<form [^>]*data-next="return" hidden', text)
    delivered = client.get(f"/orders/{storefront_order('delivered', 'captured', 'delivered')}/").content.decode()
    assert re.search(r'<form [^>]*data-next="return" novalidate>', delivered)
    assert "Request a return" in delivered


def return_form(client, order_id: str) -> dict[str, str]:
    text = client.get(f"/orders/{order_id}/").content.decode()
    key = re.search(r'name="return_key" value="([^"]+)"', text).group(1)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', text).group(1)
    return {"return_key": key, "csrfmiddlewaretoken": token, "reason": "Too small"}


def delivered_in_full(catalog_order_id: str) -> None:
    """The warehouse says the storefront's order left and arrived, through the gateway."""
    warehouse = Partner.objects.create(name="warehouse", allowed_sources=["warehouse"])
    receive_message(dispatched(catalog_order_id), caller=warehouse)
    receive_message({**dispatched(catalog_order_id), "status": "delivered"}, caller=warehouse)
    processed(
        lambda: OrderSummary.objects.filter(order_id=catalog_order_id, status="delivered").first(), what="delivery"
    )


def test_a_return_asked_for_goes_through_the_gateway_and_the_page_follows_it_to_the_refund(client, catalog, flowing):
    storefront = Partner.of_the_shop("storefront", ["web"])
    order_id = str(uuid.uuid4())
    receive_message(web_order(order_id, "tok_ok"), caller=storefront)
    processed(lambda: OrderSummary.objects.filter(order_id=order_id, status="paid").first(), what="payment")
    delivered_in_full(order_id)

    form = return_form(client, order_id)
    answer = client.post(f"/orders/{order_id}/return/", form)
    assert answer.status_code == 303
    message_id = re.fullmatch(rf"/orders/{order_id}/\?return=([0-9a-f-]+)", answer["Location"]).group(1)
    message = EventStore().get(uuid.UUID(message_id))
    assert (message.stream_id, message.metadata["partner"], message.metadata["applies"]) == (
        INPUT_STREAM,
        "storefront",
        "return",
    )
    assert (message.data["order_id"], message.data["reason"]) == (order_id, "Too small")
    assert IdempotencyRecord.objects.get(key=form["return_key"]).message_id == message.event_id
    # The same form sent again (a double click, a reload): back to the page, nothing more stored.
    assert client.post(f"/orders/{order_id}/return/", form).status_code == 303
    assert len([m for m in EventStore().read_stream(INPUT_STREAM) if m.metadata["applies"] == "return"]) == 1

    processed(lambda: OrderSummary.objects.filter(order_id=order_id, status="return_requested").first(), what="ask")
    state = client.get(f"/orders/{order_id}/status.json?return={message_id}").json()
    assert (state["status"], state["settled"], state["next_step"]) == ("Return requested", False, "")
    assert [(step["label"], step["done"]) for step in state["return_steps"]] == [
        ("Return asked for (Too small)", True),
        ("Goods received back", False),
        ("Payment refunded", False),
    ]
    returns = Partner.objects.get(name="warehouse")
    returns.allowed_sources = ["warehouse"]
    receive_message(
        {
            "applies": "return",
            "source": "warehouse",
            "profile": "warehouse",
            "order_id": order_id,
            "status": "received",
        },
        caller=returns,
    )
    processed(lambda: OrderSummary.objects.filter(order_id=order_id, payment_status="refunded").first(), what="refund")
    state = client.get(f"/orders/{order_id}/status.json").json()
    assert (state["status"], state["payment_status"], state["settled"]) == ("Returned", "Refunded", True)
    assert all(step["done"] for step in state["return_steps"])
    inputs = [m for m in EventStore().read_stream(INPUT_STREAM) if m.metadata["applies"] == "return"]
    assert len(inputs) == 2  # the customer's request once, the warehouse's receipt


def test_the_page_says_a_return_is_being_recorded_until_its_row_follows(client, catalog):
    """No consumer runs here: the request is stored, the summary still says delivered."""
    order_id = storefront_order("delivered", "captured", "delivered")
    answer = client.post(f"/orders/{order_id}/return/", return_form(client, order_id))
    page = client.get(answer["Location"]).content.decode()
    assert "We are recording your return request." in page and 'data-settled="false"' in page
    assert "status.json?return=" in page  # the script polls with the request, to follow it
    assert re.search(r'<form [^>]*data-next="return" hidden', page)  # not offered twice meanwhile
    other = client.get(f"/orders/{order_id}/?return={uuid.uuid4()}").content.decode()
    assert "We are recording" not in other  # a message id that is no return of this order counts not


def test_a_return_without_a_reason_is_shown_again_with_the_error_and_sends_nothing(client, catalog):
    order_id = storefront_order("delivered", "captured", "delivered")
    answer = client.post(f"/orders/{order_id}/return/", {**return_form(client, order_id), "reason": " "})
    assert answer.status_code == 400
    text = answer.content.decode()
    assert NO_REASON in text and 'aria-describedby="id_reason_error"' in text
    assert re.search(r'<form [^>]*data-next="return" novalidate>', text)
    assert list(EventStore().read_stream(INPUT_STREAM)) == []


def test_a_return_posted_for_an_order_not_delivered_sends_nothing(client, catalog):
    order_id = storefront_order("dispatched", "captured", "dispatched")
    answer = client.post(f"/orders/{order_id}/return/", return_form(client, order_id))
    assert (answer.status_code, answer["Location"]) == (303, f"/orders/{order_id}/")
    assert list(EventStore().read_stream(INPUT_STREAM)) == []
