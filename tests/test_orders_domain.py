"""The Order aggregate, with no database: given past events, when a command, then new events (or an error)."""

from dataclasses import replace
from decimal import Decimal

import pytest

from eventstore import codec
from orders.domain import (
    DISPATCHED_REASON,
    Address,
    CancelOrder,
    Customer,
    InvalidOrder,
    Order,
    OrderAlreadyPlaced,
    OrderCancellationRejected,
    OrderCancelled,
    OrderLine,
    OrderNotFound,
    OrderPlaced,
    PlaceOrder,
)

PLACE = PlaceOrder(
    order_id="42",
    partner="acme",
    source="web",
    customer=Customer(email="ann@example.com", name="Ann"),
    lines=(OrderLine("TEE-RED-M", 2, Decimal("19.90")), OrderLine("CAP", 1, Decimal("5.05"))),
    currency="EUR",
    shipping_address=Address(line1="1 Via Roma", city="Rome", postcode="00100", country="IT"),
    payment_token="tok_ok",
)
PLACED = OrderPlaced(
    order_id="42",
    partner="acme",
    source="web",
    customer=PLACE.customer,
    lines=PLACE.lines,
    currency="EUR",
    total=Decimal("44.85"),
    shipping_address=PLACE.shipping_address,
    payment_token="tok_ok",
)
CANCEL = CancelOrder(order_id="42", reason="changed my mind", requested_by="customer")


def given(*events: object) -> Order:
    order = Order("42")
    order.replay(list(events), up_to_version=len(events) - 1)
    return order


def with_line(line: OrderLine) -> dict:
    return {"lines": (line,)}


def test_an_order_lives_in_its_own_stream():
    assert Order("42").stream_id == "order-42"


def test_placing_a_new_order_records_order_placed_with_the_total_computed_from_the_lines():
    order = given()
    order.place(PLACE)
    assert order.pending_events() == [PLACED]


def test_the_total_is_exact_decimal_arithmetic():
    command = replace(PLACE, lines=(OrderLine("A", 3, Decimal("0.10")),))
    assert command.total == Decimal("0.30")


def test_placing_an_already_placed_order_records_nothing():
    order = given(PLACED)
    order.place(PLACE)
    assert order.pending_events() == []


def test_placing_an_order_with_the_same_id_but_other_content_is_refused_and_records_nothing():
    order = given(PLACED)
    with pytest.raises(OrderAlreadyPlaced, match="already placed with other content"):
        order.place(replace(PLACE, lines=(OrderLine("OTHER", 9, Decimal("1.00")),)))
    assert order.pending_events() == []


def test_another_partner_placing_the_same_content_under_a_taken_id_is_refused():
    order = given(PLACED)
    with pytest.raises(OrderAlreadyPlaced):
        order.place(replace(PLACE, partner="someone-else"))


def test_order_placed_becomes_the_json_shape_of_the_contract():
    assert codec.to_data(PLACED) == {
        "order_id": "42",
        "partner": "acme",
        "source": "web",
        "customer": {"email": "ann@example.com", "name": "Ann"},
        "lines": [
            {"sku": "TEE-RED-M", "quantity": 2, "unit_price": "19.90"},
            {"sku": "CAP", "quantity": 1, "unit_price": "5.05"},
        ],
        "currency": "EUR",
        "total": "44.85",
        "shipping_address": {"line1": "1 Via Roma", "city": "Rome", "postcode": "00100", "country": "IT"},
        "payment_token": "tok_ok",
    }
    assert codec.from_data(OrderPlaced, codec.to_data(PLACED)) == PLACED


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"lines": ()}, "at least one line"),
        (with_line(OrderLine("A", 0, Decimal("1.00"))), "at least 1"),
        (with_line(OrderLine("A", -2, Decimal("1.00"))), "at least 1"),
        (with_line(OrderLine("A", 1.5, Decimal("1.00"))), "whole number"),
        (with_line(OrderLine("A", "2", Decimal("1.00"))), "whole number"),
        (with_line(OrderLine("A", True, Decimal("1.00"))), "whole number"),
        (with_line(OrderLine("A", 1, Decimal("-0.01"))), "cannot be negative"),
        (with_line(OrderLine("A", 1, Decimal("NaN"))), "decimal amount"),
        (with_line(OrderLine("A", 1, 1.5)), "decimal amount"),
        ({"currency": "XYZ"}, "Unknown currency 'XYZ'"),
        ({"currency": "eur"}, "Unknown currency"),
        ({"order_id": ""}, "1 to 100 characters"),
        ({"order_id": "x" * 101}, "1 to 100 characters"),
    ],
)
def test_an_order_with_invalid_content_cannot_be_commanded(change, reason):
    with pytest.raises(InvalidOrder, match=reason):
        replace(PLACE, **change)


def test_an_order_id_of_100_characters_and_a_free_line_are_valid():
    command = replace(PLACE, order_id="x" * 100, lines=(OrderLine("GIFT", 1, Decimal("0.00")),))
    assert command.total == Decimal("0.00")


def test_a_cancel_before_dispatch_cancels_the_order():
    order = given(PLACED)
    order.cancel(CANCEL, dispatched=False)
    assert order.pending_events() == [OrderCancelled(order_id="42", reason="changed my mind", requested_by="customer")]


def test_a_cancel_after_dispatch_is_rejected():
    order = given(PLACED)
    order.cancel(CANCEL, dispatched=True)
    assert order.pending_events() == [OrderCancellationRejected(order_id="42", reason=DISPATCHED_REASON)]


def test_cancelling_a_cancelled_order_records_nothing():
    order = given(PLACED, OrderCancelled(order_id="42", reason="changed my mind", requested_by="staff"))
    order.cancel(CANCEL, dispatched=False)
    order.cancel(CANCEL, dispatched=True)
    assert order.pending_events() == []


def test_a_cancel_already_rejected_records_nothing_more():
    order = given(PLACED, OrderCancellationRejected(order_id="42", reason=DISPATCHED_REASON))
    order.cancel(CANCEL, dispatched=True)
    assert order.pending_events() == []


def test_cancelling_an_order_never_placed_raises_order_not_found():
    order = given()
    with pytest.raises(OrderNotFound, match="'42'"):
        order.cancel(CANCEL, dispatched=False)
    assert order.pending_events() == []


def test_a_cancel_needs_a_valid_order_id():
    with pytest.raises(InvalidOrder, match="1 to 100 characters"):
        CancelOrder(order_id="", reason="x", requested_by="staff")


@pytest.mark.parametrize("requested_by", ["unknown", "Customer", ""])
def test_a_cancel_is_asked_by_a_customer_staff_or_a_partner(requested_by):
    with pytest.raises(InvalidOrder, match="customer, staff, partner"):
        CancelOrder(order_id="42", reason="x", requested_by=requested_by)
