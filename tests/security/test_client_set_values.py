"""S8: values a client must not decide, or cannot mean, end to end: through the gateway, the
components and the projectors (the `post` fixture), and through the storefront's form.

- A total, a status, a payment or shipment state sent by the client are ignored: the order summary
  shows the total computed from the lines and the status the rules give.
- NaN and Infinity answer 400 at the door; nothing is stored.
- Wrong types and impossible values (a quantity as text or a fraction, a price as a float or in
  exponent form) are parked by orders with the reason: never an order.
- Values no read model can hold (a name longer than its column, a country that is not a code, a
  quantity or total past the columns' range) are parked too, and an order after them still reaches
  every read model: one message must not stop a projector.
"""

import json
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client

from eventstore.models import Event, ParkedMessage
from eventstore.projections import registered, status
from gateway.one_time_keys import new_key
from orders.models import CustomerOrders, OrderSummary, ProductSales
from shipping.models import ShipmentBoardRow
from tests.browser import processed
from tests.flows import dispatched, streams, web_order
from tests.partners import new_partner_key
from tests.security.surface import stored, summary_once

pytestmark = pytest.mark.django_db(transaction=True)


def order(order_id: str, token: str = "tok_ok", **changes: object) -> dict:
    """The web order of tests/flows.py (2 x TEE-RED-M at 19.90 EUR) with `changes`, each named by its
    path with `__` between the parts: `lines__0__quantity=3`."""
    body = web_order(order_id, token)
    for path, value in changes.items():
        *parents, last = path.split("__")
        target = body
        for part in parents:
            target = target[int(part)] if isinstance(target, list) else target[part]
        target[int(last) if isinstance(target, list) else last] = value
    return body


def parked_reasons(order_id: str, group: str) -> list[str]:
    """Why `group` parked the input messages about `order_id`."""
    reasons = []
    for parked in ParkedMessage.objects.filter(group=group):
        data = Event.objects.get(event_id=parked.event_id).data
        if order_id in (data.get("order_id"), data.get("ref")):
            reasons.append(parked.reason)
    return reasons


def assert_parked_never_placed(order_id: str) -> str:
    """Orders parked the message of `order_id`, and nothing came of it; the reason."""
    [reason] = parked_reasons(order_id, "orders")
    assert streams(order_id) == ([], [], [])
    assert not OrderSummary.objects.filter(order_id=order_id).exists()
    return reason


def test_a_client_total_status_and_payment_state_are_ignored_for_what_the_rules_give(post):
    post({
        **order("S8-1", "tok_decline"),
        "total": "0.01", "status": "delivered", "paid": True,
        "payment": {"method": "card", "token": "tok_decline", "status": "captured", "amount": "0.01"},
        "shipment": {"status": "delivered", "carrier": "DHL", "tracking_number": "T-1"},
        "lines": [{"sku": "TEE-RED-M", "quantity": 2, "unit_price": "19.90", "amount": "0.01", "total": "0.01"}],
    })  # fmt: skip
    row = summary_once("S8-1", status="payment_declined")
    assert (row.total, row.payment_status, row.shipment_status, row.carrier) == (Decimal("39.80"), "declined", "", "")
    assert streams("S8-1") == (["OrderPlaced"], ["PaymentDeclined"], [])
    staff = Client()
    staff.force_login(get_user_model().objects.create_user("staff", is_staff=True))
    shown = staff.get("/api/v1/orders/S8-1").json()
    assert (shown["total"], shown["status"], shown["payment"]["status"]) == ("39.80", "payment_declined", "declined")
    assert shown["shipment"] == {"status": None, "carrier": None, "tracking_number": None}


def test_nan_and_infinity_in_an_order_answer_400_and_store_nothing():
    key = new_partner_key("mallory")
    before = stored()
    raw = json.dumps(order("S8-2"))
    for constant in ("NaN", "Infinity", "-Infinity", "1e999"):
        for field in ('"quantity": 2', '"unit_price": "19.90"'):
            body = raw.replace(field, f"{field.split(':')[0]}: {constant}")
            answer = Client().post(
                "/shop/api/v1", body, content_type="application/json", headers={"Authorization": f"Api-Key {key}"}
            )
            assert answer.status_code == 400, (constant, field, answer.content)
    assert stored() == before


@pytest.mark.parametrize(
    "changes, reason",
    [
        ({"lines__0__quantity": "2"}, "must be an integer"),
        ({"lines__0__quantity": 1.5}, "must be an integer"),
        ({"lines__0__quantity": True}, "must be an integer"),
        ({"lines__0__quantity": 0}, "at least 1"),
        ({"lines__0__unit_price": 19.9}, "must be a string"),
        ({"lines__0__unit_price": "1e3"}, "decimal amount"),
        ({"lines__0__unit_price": "NaN"}, "decimal amount"),
        ({"lines__0__unit_price": "-19.90"}, "cannot be negative"),
        ({"currency": "XXX"}, "Unknown currency"),
        ({"lines": {"sku": "TEE-RED-M"}}, "must be a list"),
        ({"customer": "ann@example.com"}, "Missing field"),
    ],
    ids=[
        "quantity-text", "quantity-fraction", "quantity-boolean", "quantity-zero", "price-float", "price-exponent",
        "price-nan-text", "price-negative", "currency", "lines-object", "customer-text",
    ],
)  # fmt: skip
def test_wrong_types_and_impossible_values_are_parked_never_an_order(post, changes, reason):
    post(order("S8-3", **changes))
    assert reason in assert_parked_never_placed("S8-3")


UNHOLDABLE = {
    "name-longer-than-its-column": {"customer__name": "N" * 201},
    "email-longer-than-its-column": {"customer__email": "a" * 250 + "@example.com"},
    "sku-longer-than-its-column": {"lines__0__sku": "S" * 101},
    "city-longer-than-its-column": {"shipping_address__city": "C" * 201},
    "country-not-a-code": {"shipping_address__country": "ITALY"},
    "quantity-past-the-columns-range": {"lines__0__quantity": 3_000_000_000},
    "total-past-the-columns-range": {"lines__0__unit_price": "999999999999.99"},
    "price-finer-than-a-cent": {"lines__0__unit_price": "19.905"},
}


def test_values_no_read_model_can_hold_are_parked_and_later_orders_still_show(post):
    for name, changes in UNHOLDABLE.items():
        post(order(name, **changes))
    post(order("S8-OK"))
    summary_once("S8-OK", shipment_status="requested")
    post({**dispatched("S8-OK"), "carrier": "D" * 201})
    post(dispatched("S8-OK"))

    row = summary_once("S8-OK", status="dispatched")
    for name in UNHOLDABLE:
        assert_parked_never_placed(name)
    assert len(parked_reasons("S8-OK", "shipping")) == 1
    assert row.total == Decimal("39.80") and row.carrier == "DHL"
    assert ShipmentBoardRow.objects.get(order_id="S8-OK").status == "dispatched"
    assert ProductSales.objects.get(sku="TEE-RED-M").quantity == 2
    assert CustomerOrders.objects.get(email="ann@example.com").orders == 1
    # Every projector has got past every one of them: none is stuck behind a value it cannot write.
    processed(lambda: all(status(p).lag_events == 0 for p in registered()) or None, what="every projector to catch up")


def test_the_storefront_takes_prices_from_its_catalog_whatever_the_form_sends(client, settings):
    settings.CONSUMER_DELIVERY_ON_COMMIT = settings.PROJECTIONS_ON_COMMIT = True
    call_command("loaddata", "demo_catalog", verbosity=0)
    form = {
        "customer_name": "Ann", "customer_email": "ann@example.com", "line1": "1 Via Roma", "city": "Rome",
        "postcode": "00100", "country": "IT", "payment_token": "tok_ok", "quantity_TEE-RED-M": "2",
        "order_key": new_key(),
        # what a forged form could add: none of it is a field of the form
        "unit_price_TEE-RED-M": "0.01", "price": "0.01", "total": "0.01", "currency": "USD", "status": "delivered",
        "partner": "acme", "order_id": "CHOSEN-ID",
    }  # fmt: skip
    answer = client.post("/", form)
    assert answer.status_code == 303, answer.content[:2000]
    order_id = answer["Location"].strip("/").rsplit("/", 1)[-1]
    row = summary_once(order_id, status="paid")
    assert (row.total, row.currency, row.partner) == (Decimal("39.80"), "EUR", "storefront")
    assert not OrderSummary.objects.filter(order_id="CHOSEN-ID").exists()


@pytest.mark.parametrize("quantity", ["NaN", "Infinity", "1e3", "-1", "2.5", "0x10", "99999999999999999999"])
def test_the_storefront_refuses_a_quantity_that_is_not_a_small_whole_number(client, quantity):
    call_command("loaddata", "demo_catalog", verbosity=0)
    before = stored()
    form = {
        "customer_name": "Ann", "customer_email": "ann@example.com", "line1": "1 Via Roma", "city": "Rome",
        "postcode": "00100", "country": "IT", "payment_token": "tok_ok", "quantity_TEE-RED-M": quantity,
    }  # fmt: skip
    answer = client.post("/", form)
    assert answer.status_code == 200, answer.status_code
    assert "quantity_TEE-RED-M" in answer.context["form"].errors  # shown next to the product
    assert stored() == before
