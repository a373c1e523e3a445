"""Raw shop-input messages to order commands: each raw shape, and each kind of invalid content with its reason."""

import copy
from decimal import Decimal

import pytest

from eventstore.consumers import PermanentFailure
from orders.adapters import command_for
from orders.domain import Address, CancelOrder, Customer, OrderLine, PlaceOrder

MESSAGE_ID = "5b0c4d3e-0000-4000-8000-000000000001"

WEB = {
    "order_id": "W-1",
    "customer": {"email": "ann@example.com", "name": "Ann"},
    "lines": [{"sku": "TEE-RED-M", "quantity": 2, "unit_price": "19.90"}],
    "currency": "EUR",
    "shipping_address": {"line1": "1 Via Roma", "city": "Rome", "postcode": "00100", "country": "IT"},
    "payment": {"method": "card", "token": "tok_ok"},
}
MARKETPLACE = {
    "ref": "M-7",
    "buyer": {"mail": "bob@example.com", "full_name": "Bob"},
    "items": [
        {"product_code": "MUG", "qty": 3, "price_cents": 1990},
        {"product_code": "PIN", "qty": 1, "price_cents": 5},
    ],
    "currency": "GBP",
    "ship_to": {"street": "2 High St", "town": "Leeds", "zip": "LS1", "country_code": "GB"},
    "paid": {"token": "tok_ok"},
}


def command(body: dict, *, source: str = "web", applies: str = "order"):
    return command_for(applies=applies, source=source, body=body, message_id=MESSAGE_ID, partner="acme")


def changed(body: dict, path: str, value: object = ...) -> dict:
    """A deep copy of `body` with the dotted `path` set to `value`, or removed when no value is given."""
    body = copy.deepcopy(body)
    *parents, last = path.split(".")
    target = body
    for key in parents:
        target = target[int(key)] if isinstance(target, list) else target[key]
    if value is ...:
        del target[last]
    else:
        target[last] = value
    return body


def rejection(body: dict, *, source: str = "web") -> str:
    with pytest.raises(PermanentFailure) as failure:
        command(body, source=source)
    return failure.value.reason


def test_a_web_order_becomes_place_order():
    assert command(WEB) == PlaceOrder(
        order_id="W-1",
        partner="acme",
        source="web",
        customer=Customer(email="ann@example.com", name="Ann"),
        lines=(OrderLine("TEE-RED-M", 2, Decimal("19.90")),),
        currency="EUR",
        shipping_address=Address(line1="1 Via Roma", city="Rome", postcode="00100", country="IT"),
        payment_token="tok_ok",
    )


def test_a_web_order_without_an_order_id_takes_the_message_id():
    assert command(changed(WEB, "order_id")).order_id == MESSAGE_ID
    assert command(changed(WEB, "order_id", None)).order_id == MESSAGE_ID


def test_a_client_total_and_status_are_ignored():
    placed = command({**WEB, "total": "0.01", "status": "paid"})
    assert placed.total == Decimal("39.80")


def test_a_marketplace_order_becomes_place_order_with_prices_from_cents():
    assert command(MARKETPLACE, source="marketplace") == PlaceOrder(
        order_id="M-7",
        partner="acme",
        source="marketplace",
        customer=Customer(email="bob@example.com", name="Bob"),
        lines=(OrderLine("MUG", 3, Decimal("19.90")), OrderLine("PIN", 1, Decimal("0.05"))),
        currency="GBP",
        shipping_address=Address(line1="2 High St", city="Leeds", postcode="LS1", country="GB"),
        payment_token="tok_ok",
    )
    assert str(command(MARKETPLACE, source="marketplace").lines[0].unit_price) == "19.90"


@pytest.mark.parametrize(
    ("source", "requested_by"),
    [("web", "customer"), ("staff", "staff"), ("marketplace", "partner"), ("pos", "partner")],
)
def test_a_cancel_from_any_source_becomes_cancel_order_saying_who_asked(source, requested_by):
    body = {"action": "cancel", "order_id": "W-1", "reason": "changed my mind"}
    assert command(body, source=source) == CancelOrder(
        order_id="W-1", reason="changed my mind", requested_by=requested_by
    )


@pytest.mark.parametrize("applies", ["shipment", "payment", None])
def test_a_message_not_for_orders_gives_no_command(applies):
    assert command(WEB, applies=applies) is None


def test_an_order_from_an_unknown_source_is_parked():
    assert rejection(WEB, source="fax") == "No order shape for source 'fax'."


def test_an_unknown_action_is_parked():
    assert rejection({**WEB, "action": "refund"}) == "Unknown order action 'refund'."


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (changed(WEB, "lines", []), "An order needs at least one line."),
        (changed(WEB, "lines.0.quantity", 0), "Line 'TEE-RED-M': the quantity must be at least 1, not 0."),
        (changed(WEB, "lines.0.quantity", 1.5), "Field 'lines[0].quantity' must be an integer, not number."),
        (changed(WEB, "lines.0.quantity", "2"), "Field 'lines[0].quantity' must be an integer, not string."),
        (changed(WEB, "lines.0.quantity", True), "Field 'lines[0].quantity' must be an integer, not boolean."),
        (changed(WEB, "currency", "XYZ"), "Unknown currency 'XYZ'."),
        (changed(WEB, "lines.0.unit_price", "-1.00"), "Line 'TEE-RED-M': the unit price cannot be negative (-1.00)."),
        (
            changed(WEB, "lines.0.unit_price", "NaN"),
            "Field 'lines[0].unit_price' must be a decimal amount such as '19.90', not 'NaN'.",
        ),
        (changed(WEB, "lines.0.unit_price", 19.9), "Field 'lines[0].unit_price' must be a string, not number."),
        (changed(WEB, "order_id", ""), "An order id must be 1 to 100 characters."),
        (changed(WEB, "order_id", "x" * 101), "An order id must be 1 to 100 characters."),
        (changed(WEB, "order_id", 42), "Field 'order_id' must be a string, not integer."),
        (changed(WEB, "customer.email"), "Missing field 'customer.email'."),
        (changed(WEB, "customer", "Ann"), "Missing field 'customer.email'."),
        (changed(WEB, "lines"), "Missing field 'lines'."),
        (changed(WEB, "lines", {"sku": "A"}), "Field 'lines' must be a list, not object."),
        (changed(WEB, "lines.0.sku"), "Missing field 'lines[0].sku'."),
        (
            changed(WEB, "shipping_address.postcode", 100),
            "Field 'shipping_address.postcode' must be a string, not integer.",
        ),
        (changed(WEB, "payment"), "Missing field 'payment.token'."),
        (changed(WEB, "currency"), "Missing field 'currency'."),
    ],
)
def test_an_invalid_web_order_is_parked_with_its_reason(body, reason):
    assert rejection(body) == reason


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (changed(MARKETPLACE, "items", []), "An order needs at least one line."),
        (changed(MARKETPLACE, "items.0.qty", 0), "Line 'MUG': the quantity must be at least 1, not 0."),
        (changed(MARKETPLACE, "items.0.price_cents", -1), "Line 'MUG': the unit price cannot be negative (-0.01)."),
        (
            changed(MARKETPLACE, "items.0.price_cents", 19.9),
            "Field 'items[0].price_cents' must be an integer, not number.",
        ),
        (
            changed(MARKETPLACE, "items.0.price_cents", "1990"),
            "Field 'items[0].price_cents' must be an integer, not string.",
        ),
        (changed(MARKETPLACE, "currency", "ABC"), "Unknown currency 'ABC'."),
        (changed(MARKETPLACE, "ref"), "Missing field 'ref'."),
        (changed(MARKETPLACE, "buyer.full_name"), "Missing field 'buyer.full_name'."),
        (
            changed(MARKETPLACE, "ship_to.country_code", None),
            "Field 'ship_to.country_code' must be a string, not null.",
        ),
        (changed(MARKETPLACE, "paid"), "Missing field 'paid.token'."),
    ],
)
def test_an_invalid_marketplace_order_is_parked_with_its_reason(body, reason):
    assert rejection(body, source="marketplace") == reason


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"action": "cancel", "reason": "x"}, "Missing field 'order_id'."),
        ({"action": "cancel", "order_id": "W-1"}, "Missing field 'reason'."),
        ({"action": "cancel", "order_id": "", "reason": "x"}, "An order id must be 1 to 100 characters."),
        ({"action": "cancel", "order_id": ["W-1"], "reason": "x"}, "Field 'order_id' must be a string, not list."),
    ],
)
def test_an_invalid_cancel_is_parked_with_its_reason(body, reason):
    assert rejection(body) == reason
