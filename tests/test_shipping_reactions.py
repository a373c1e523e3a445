"""Shipping's consumer group on the database: the events it reacts to, the events it appends."""

import pytest
from django.db import transaction

from eventstore.consumers import PermanentFailure, Waiting, group
from eventstore.store import ANY, EventStore, NewEvent, RecordedEvent
from shipping.models import PlacedOrder
from shipping.reactions import GROUP

pytestmark = pytest.mark.django_db

ADDRESS = {"line1": "1 Via Roma", "city": "Rome", "postcode": "00100", "country": "IT"}
ORDER_PLACED = {
    "order_id": "42",
    "partner": "acme",
    "source": "web",
    "customer": {"email": "ann@example.com", "name": "Ann"},
    "lines": [
        {"sku": "TEE-RED-M", "quantity": 2, "unit_price": "19.90"},
        {"sku": "MUG-1", "quantity": 1, "unit_price": "0.00"},
    ],
    "currency": "EUR",
    "total": "39.80",
    "shipping_address": ADDRESS,
    "payment_token": "tok_ok",
}
PAYMENT_CAPTURED = {"order_id": "42", "amount": "39.80", "currency": "EUR", "provider_ref": "ch_1"}
ORDER_CANCELLED = {"order_id": "42", "reason": "customer changed their mind"}
DISPATCHED = {"order_id": "42", "status": "dispatched", "carrier": "DHL", "tracking_number": "TRACK-1"}


def recorded(stream: str, event_type: str, data: dict, metadata: dict | None = None) -> RecordedEvent:
    """Append a cause event and read it back as the consumer group would deliver it."""
    store = EventStore()
    store.append(stream, [NewEvent(event_type, data, {"correlation_id": "flow-1", **(metadata or {})})], ANY)
    return store.read_stream(stream)[-1]


def shop_input(body: dict, *, applies: str = "shipment", source: str = "warehouse") -> RecordedEvent:
    """A gateway input event: the correlation id is the event's own id, as the gateway stores it."""
    store = EventStore()
    metadata = {"applies": applies, "source": source, "partner": "acme", "idempotency_key": None}
    store.append("shop-input", [NewEvent("ShopDataReceived", body, metadata)], ANY)
    return store.read_stream("shop-input")[-1]


def handled(event: RecordedEvent) -> None:
    with transaction.atomic():
        GROUP.handler(event)


def shipment_events() -> list[RecordedEvent]:
    return EventStore().read_stream("shipment-42")


def placed_and_captured() -> RecordedEvent:
    handled(recorded("order-42", "OrderPlaced", ORDER_PLACED))
    captured = recorded("payment-42", "PaymentCaptured", PAYMENT_CAPTURED)
    handled(captured)
    return captured


def test_the_group_is_registered_for_the_events_shipping_reacts_to():
    assert group("shipping") is GROUP
    assert (GROUP.name, GROUP.queue) == ("shipping", "shipping")
    assert set(GROUP.event_types) == {"ShopDataReceived", "OrderPlaced", "PaymentCaptured", "OrderCancelled"}


# --- the cache of placed orders -----------------------------------------------------------------


def test_order_placed_is_cached_with_the_address_and_the_lines_without_prices():
    handled(recorded("order-42", "OrderPlaced", ORDER_PLACED))
    placed = PlacedOrder.objects.get(order_id="42")
    assert placed.shipping_address == ADDRESS
    assert placed.lines == [{"sku": "TEE-RED-M", "quantity": 2}, {"sku": "MUG-1", "quantity": 1}]
    assert shipment_events() == []


def test_order_placed_handled_twice_keeps_one_cache_row():
    event = recorded("order-42", "OrderPlaced", ORDER_PLACED)
    handled(event)
    handled(event)
    assert list(PlacedOrder.objects.values_list("order_id", flat=True)) == ["42"]


# --- payment captured -> shipment requested -----------------------------------------------------


def test_a_captured_payment_requests_the_shipment_with_the_cached_address():
    captured = placed_and_captured()
    [requested] = shipment_events()
    assert requested.event_type == "ShipmentRequested"
    assert requested.data == {
        "order_id": "42",
        "address": ADDRESS,
        "lines": [{"sku": "TEE-RED-M", "quantity": 2}, {"sku": "MUG-1", "quantity": 1}],
    }
    assert (requested.correlation_id, requested.causation_id) == ("flow-1", str(captured.event_id))


def test_a_captured_payment_handled_twice_requests_one_shipment():
    captured = placed_and_captured()
    handled(captured)
    assert [e.event_type for e in shipment_events()] == ["ShipmentRequested"]


def test_a_capture_before_the_order_is_cached_waits_for_the_earlier_messages_and_appends_nothing():
    captured = recorded("payment-42", "PaymentCaptured", PAYMENT_CAPTURED)
    with pytest.raises(Waiting, match="Order '42' is not in shipping's cache"):
        handled(captured)
    assert shipment_events() == []
    # The retry after the OrderPlaced is handled succeeds.
    handled(recorded("order-42", "OrderPlaced", ORDER_PLACED))
    handled(captured)
    assert [e.event_type for e in shipment_events()] == ["ShipmentRequested"]


# --- order cancelled -> shipment cancelled ------------------------------------------------------


def test_an_order_cancelled_before_capture_gets_no_shipment():
    handled(recorded("order-42", "OrderPlaced", ORDER_PLACED))
    cancelled = recorded("order-42", "OrderCancelled", ORDER_CANCELLED)
    handled(cancelled)
    handled(recorded("payment-42", "PaymentCaptured", PAYMENT_CAPTURED))
    [event] = shipment_events()
    assert (event.event_type, event.data) == ("ShipmentCancelled", ORDER_CANCELLED)
    assert (event.correlation_id, event.causation_id) == ("flow-1", str(cancelled.event_id))


def test_an_order_cancelled_after_the_request_cancels_the_shipment_once():
    placed_and_captured()
    cancelled = recorded("order-42", "OrderCancelled", ORDER_CANCELLED)
    handled(cancelled)
    handled(cancelled)
    assert [e.event_type for e in shipment_events()] == ["ShipmentRequested", "ShipmentCancelled"]


def test_an_order_cancelled_after_dispatch_is_parked_and_leaves_the_shipment_alone():
    # The race orders cannot see: it cancelled before handling the dispatch shipping had recorded.
    placed_and_captured()
    handled(shop_input(DISPATCHED))
    with pytest.raises(PermanentFailure, match="cancelled after its shipment was dispatched"):
        handled(recorded("order-42", "OrderCancelled", ORDER_CANCELLED))
    assert [e.event_type for e in shipment_events()] == ["ShipmentRequested", "ShipmentDispatched"]


# --- warehouse updates --------------------------------------------------------------------------


def test_warehouse_dispatched_then_delivered_dispatches_and_delivers_the_shipment():
    placed_and_captured()
    dispatched = shop_input(DISPATCHED)
    handled(dispatched)
    delivered = shop_input({"order_id": "42", "status": "delivered"})
    handled(delivered)
    _, dispatch, delivery = shipment_events()
    assert (dispatch.event_type, dispatch.data) == (
        "ShipmentDispatched",
        {"order_id": "42", "carrier": "DHL", "tracking_number": "TRACK-1"},
    )
    assert (delivery.event_type, delivery.data) == ("ShipmentDelivered", {"order_id": "42"})
    # The input message starts its own flow: its id is the correlation id.
    assert (dispatch.correlation_id, dispatch.causation_id) == (str(dispatched.event_id), str(dispatched.event_id))
    assert (delivery.correlation_id, delivery.causation_id) == (str(delivered.event_id), str(delivered.event_id))


def test_a_repeated_warehouse_update_records_nothing_more():
    placed_and_captured()
    handled(shop_input(DISPATCHED))
    handled(shop_input(DISPATCHED))
    assert [e.event_type for e in shipment_events()] == ["ShipmentRequested", "ShipmentDispatched"]


@pytest.mark.parametrize("status", ["dispatched", "delivered"])
def test_a_warehouse_update_with_no_shipment_waits_and_appends_nothing(status):
    with pytest.raises(Waiting, match="No shipment has been requested for order '42' yet"):
        handled(shop_input({**DISPATCHED, "status": status}))
    assert shipment_events() == []


def test_a_delivery_before_the_dispatch_waits():
    placed_and_captured()
    with pytest.raises(Waiting, match="has not been dispatched yet"):
        handled(shop_input({"order_id": "42", "status": "delivered"}))
    assert [e.event_type for e in shipment_events()] == ["ShipmentRequested"]


def test_an_invalid_warehouse_message_is_a_permanent_failure():
    with pytest.raises(PermanentFailure) as failure:
        handled(shop_input({**DISPATCHED, "status": "lost"}))
    assert failure.value.reason == "Unknown warehouse status 'lost'; expected 'dispatched' or 'delivered'."
    assert shipment_events() == []


def test_a_warehouse_update_for_a_cancelled_shipment_is_a_permanent_failure():
    handled(recorded("order-42", "OrderCancelled", ORDER_CANCELLED))
    with pytest.raises(PermanentFailure) as failure:
        handled(shop_input(DISPATCHED))
    assert failure.value.reason == "The shipment of order '42' was cancelled; it cannot be dispatched."
    assert [e.event_type for e in shipment_events()] == ["ShipmentCancelled"]


def test_a_message_for_orders_is_not_taken():
    order_message = {"action": "cancel", "order_id": "42", "reason": "changed my mind"}
    assert not GROUP.accepts(shop_input(order_message, applies="order", source="web"))
    assert GROUP.accepts(shop_input(DISPATCHED))
