"""The shipment aggregate, with no database: given past events, when a command, then new events."""

import pytest

from eventstore import codec
from shipping.domain import (
    Address,
    CancelShipment,
    DeliverShipment,
    DispatchShipment,
    Line,
    NoShipmentRequested,
    RequestShipment,
    Shipment,
    ShipmentAlreadyLeft,
    ShipmentCancelled,
    ShipmentDelivered,
    ShipmentDispatched,
    ShipmentNotDispatched,
    ShipmentRequested,
    ShipmentWasCancelled,
)

ADDRESS = Address(line1="1 Via Roma", city="Rome", postcode="00100", country="IT")
LINES = (Line(sku="TEE-RED-M", quantity=2), Line(sku="MUG-1", quantity=1))
REQUESTED = ShipmentRequested("42", ADDRESS, LINES)
DISPATCHED = ShipmentDispatched("42", "DHL", "TRACK-1")
DELIVERED = ShipmentDelivered("42")
CANCELLED = ShipmentCancelled("42", "customer changed their mind")


def given(*events: object) -> Shipment:
    shipment = Shipment("42")
    shipment.replay(list(events), up_to_version=len(events) - 1)
    return shipment


def test_the_shipment_of_an_order_lives_in_the_stream_named_by_the_order_id():
    assert Shipment("42").stream_id == "shipment-42"


# --- request ------------------------------------------------------------------------------------


def test_a_request_records_shipment_requested_with_address_and_lines():
    shipment = given()
    shipment.request(RequestShipment("42", ADDRESS, LINES))
    assert shipment.pending_events() == [REQUESTED]


def test_a_repeated_request_records_nothing():
    shipment = given(REQUESTED)
    shipment.request(RequestShipment("42", ADDRESS, LINES))
    assert shipment.pending_events() == []


@pytest.mark.parametrize("past", [(REQUESTED, DISPATCHED), (REQUESTED, DISPATCHED, DELIVERED)])
def test_a_request_after_dispatch_records_nothing(past):
    shipment = given(*past)
    shipment.request(RequestShipment("42", ADDRESS, LINES))
    assert shipment.pending_events() == []


def test_a_request_after_a_cancel_before_any_request_records_nothing():
    # An order cancelled before its payment was captured must get no shipment.
    shipment = given(CANCELLED)
    shipment.request(RequestShipment("42", ADDRESS, LINES))
    assert shipment.pending_events() == []


def test_a_request_after_a_cancelled_shipment_records_nothing():
    shipment = given(REQUESTED, CANCELLED)
    shipment.request(RequestShipment("42", ADDRESS, LINES))
    assert shipment.pending_events() == []


# --- cancel -------------------------------------------------------------------------------------


def test_cancel_of_a_requested_shipment_records_shipment_cancelled():
    shipment = given(REQUESTED)
    shipment.cancel(CancelShipment("42", "customer changed their mind"))
    assert shipment.pending_events() == [CANCELLED]


def test_cancel_before_any_request_records_shipment_cancelled():
    shipment = given()
    shipment.cancel(CancelShipment("42", "customer changed their mind"))
    assert shipment.pending_events() == [CANCELLED]


def test_cancel_of_a_cancelled_shipment_records_nothing():
    shipment = given(REQUESTED, CANCELLED)
    shipment.cancel(CancelShipment("42", "again"))
    assert shipment.pending_events() == []


@pytest.mark.parametrize("past", [(REQUESTED, DISPATCHED), (REQUESTED, DISPATCHED, DELIVERED)])
def test_cancel_after_dispatch_is_refused_for_a_person_to_settle(past):
    # Orders rejects a cancel after a dispatch it has seen; one it had not seen yet reaches here.
    shipment = given(*past)
    with pytest.raises(ShipmentAlreadyLeft) as refused:
        shipment.cancel(CancelShipment("42", "too late"))
    status = "delivered" if DELIVERED in past else "dispatched"
    assert refused.value.reason == (
        f"Order '42' was cancelled after its shipment was {status}: the shipment cannot be cancelled."
    )
    assert shipment.pending_events() == []


# --- dispatch -----------------------------------------------------------------------------------


def test_dispatch_of_a_requested_shipment_records_shipment_dispatched():
    shipment = given(REQUESTED)
    shipment.dispatch(DispatchShipment("42", "DHL", "TRACK-1"))
    assert shipment.pending_events() == [DISPATCHED]


def test_dispatch_before_any_request_raises_the_transient_error():
    shipment = given()
    with pytest.raises(NoShipmentRequested, match="No shipment has been requested for order '42'"):
        shipment.dispatch(DispatchShipment("42", "DHL", "TRACK-1"))
    assert shipment.pending_events() == []


@pytest.mark.parametrize("past", [(CANCELLED,), (REQUESTED, CANCELLED)])
def test_dispatch_of_a_cancelled_shipment_is_rejected(past):
    shipment = given(*past)
    with pytest.raises(ShipmentWasCancelled) as rejected:
        shipment.dispatch(DispatchShipment("42", "DHL", "TRACK-1"))
    assert rejected.value.reason == "The shipment of order '42' was cancelled; it cannot be dispatched."
    assert shipment.pending_events() == []


@pytest.mark.parametrize("past", [(REQUESTED, DISPATCHED), (REQUESTED, DISPATCHED, DELIVERED)])
def test_dispatch_of_a_dispatched_shipment_records_nothing(past):
    shipment = given(*past)
    shipment.dispatch(DispatchShipment("42", "DHL", "TRACK-1"))
    assert shipment.pending_events() == []


# --- deliver ------------------------------------------------------------------------------------


def test_delivery_of_a_dispatched_shipment_records_shipment_delivered():
    shipment = given(REQUESTED, DISPATCHED)
    shipment.deliver(DeliverShipment("42"))
    assert shipment.pending_events() == [DELIVERED]


def test_delivery_before_any_request_raises_the_transient_error():
    shipment = given()
    with pytest.raises(NoShipmentRequested):
        shipment.deliver(DeliverShipment("42"))
    assert shipment.pending_events() == []


def test_delivery_before_dispatch_raises_the_transient_error():
    shipment = given(REQUESTED)
    with pytest.raises(ShipmentNotDispatched, match="has not been dispatched yet"):
        shipment.deliver(DeliverShipment("42"))
    assert shipment.pending_events() == []


def test_a_repeated_delivery_records_nothing():
    shipment = given(REQUESTED, DISPATCHED, DELIVERED)
    shipment.deliver(DeliverShipment("42"))
    assert shipment.pending_events() == []


@pytest.mark.parametrize("past", [(CANCELLED,), (REQUESTED, CANCELLED)])
def test_delivery_of_a_cancelled_shipment_is_rejected(past):
    shipment = given(*past)
    with pytest.raises(ShipmentWasCancelled, match="it cannot be delivered"):
        shipment.deliver(DeliverShipment("42"))
    assert shipment.pending_events() == []


# --- JSON shapes --------------------------------------------------------------------------------


def test_events_have_the_json_shapes_of_the_contract_and_come_back_equal():
    assert codec.to_data(REQUESTED) == {
        "order_id": "42",
        "address": {"line1": "1 Via Roma", "city": "Rome", "postcode": "00100", "country": "IT"},
        "lines": [{"sku": "TEE-RED-M", "quantity": 2}, {"sku": "MUG-1", "quantity": 1}],
    }
    assert codec.to_data(DISPATCHED) == {"order_id": "42", "carrier": "DHL", "tracking_number": "TRACK-1"}
    assert codec.to_data(DELIVERED) == {"order_id": "42"}
    assert codec.to_data(CANCELLED) == {"order_id": "42", "reason": "customer changed their mind"}
    for event in (REQUESTED, DISPATCHED, DELIVERED, CANCELLED):
        assert codec.from_data(type(event), codec.to_data(event)) == event


def test_snapshot_state_round_trips():
    shipment = given(REQUESTED, DISPATCHED)
    restored = Shipment("42")
    restored.restore_state(shipment.snapshot_state())
    assert restored.status == shipment.status == "dispatched"
