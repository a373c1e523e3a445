"""Warehouse messages -> shipping commands, and the reasons invalid ones are parked with."""

import pytest

from eventstore.consumers import PermanentFailure
from shipping.adapters import command_for
from shipping.domain import DeliverShipment, DispatchShipment

DISPATCHED = {"order_id": "42", "status": "dispatched", "carrier": "DHL", "tracking_number": "TRACK-1"}


def warehouse(body: dict) -> DispatchShipment | DeliverShipment | None:
    return command_for(applies="shipment", source="warehouse", body=body)


def rejection(body: dict, *, source: str = "warehouse") -> str:
    with pytest.raises(PermanentFailure) as failure:
        command_for(applies="shipment", source=source, body=body)
    return failure.value.reason


def test_a_dispatched_update_becomes_dispatch_shipment():
    assert warehouse(DISPATCHED) == DispatchShipment(order_id="42", carrier="DHL", tracking_number="TRACK-1")


def test_a_delivered_update_becomes_deliver_shipment():
    assert warehouse({**DISPATCHED, "status": "delivered"}) == DeliverShipment(order_id="42")


def test_a_delivered_update_needs_no_carrier_or_tracking_number():
    assert warehouse({"order_id": "42", "status": "delivered"}) == DeliverShipment(order_id="42")


@pytest.mark.parametrize("applies", ["order", "payment", "Shipment", ""])
def test_a_message_not_for_shipping_is_ignored(applies):
    assert command_for(applies=applies, source="warehouse", body=DISPATCHED) is None


def test_a_shipment_update_from_another_source_is_rejected():
    assert rejection(DISPATCHED, source="web") == (
        "Unknown source 'web' for a shipment update; only 'warehouse' is understood."
    )


@pytest.mark.parametrize("status", ["shipped", "DISPATCHED", "lost"])
def test_an_unknown_status_is_rejected(status):
    assert rejection({**DISPATCHED, "status": status}) == (
        f"Unknown warehouse status {status!r}; expected 'dispatched' or 'delivered'."
    )


@pytest.mark.parametrize("field", ["order_id", "status", "carrier", "tracking_number"])
def test_a_missing_field_of_a_dispatch_is_rejected(field):
    body = {k: v for k, v in DISPATCHED.items() if k != field}
    assert rejection(body) == f"Missing field {field!r} in the warehouse message."


def test_a_delivery_without_order_id_is_rejected():
    assert rejection({"status": "delivered"}) == "Missing field 'order_id' in the warehouse message."


@pytest.mark.parametrize(
    ("field", "value", "type_name"),
    [
        ("order_id", 42, "int"),
        ("status", None, "NoneType"),
        ("carrier", ["DHL"], "list"),
        ("tracking_number", 7, "int"),
    ],
)
def test_an_ill_typed_field_is_rejected(field, value, type_name):
    assert rejection({**DISPATCHED, field: value}) == f"Field {field!r} must be a string, not {type_name}."


@pytest.mark.parametrize("field", ["order_id", "status", "carrier", "tracking_number"])
def test_an_empty_field_is_rejected(field):
    assert rejection({**DISPATCHED, field: "  "}) == f"Field {field!r} must not be empty."


def test_an_order_id_over_100_characters_is_rejected():
    assert warehouse({**DISPATCHED, "order_id": "x" * 100}).order_id == "x" * 100
    assert rejection({**DISPATCHED, "order_id": "x" * 101}) == "Field 'order_id' is longer than 100 characters."
