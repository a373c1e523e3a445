"""The orders consumer group's handler on the database: shop input in, order events out, dispatches cached."""

import uuid

import pytest
from django.db import transaction

from eventstore.consumers import PermanentFailure, Waiting
from eventstore.models import Event
from eventstore.store import ANY, EventStore, NewEvent, RecordedEvent
from orders.domain import DISPATCHED_REASON, OrderNotFound
from orders.models import DispatchedOrder
from orders.reactions import GROUP

handle = GROUP.handler

pytestmark = pytest.mark.usefixtures("db")

WEB_ORDER = {
    "order_id": "W-1",
    "customer": {"email": "ann@example.com", "name": "Ann"},
    "lines": [
        {"sku": "TEE-RED-M", "quantity": 2, "unit_price": "19.90"},
        {"sku": "CAP", "quantity": 1, "unit_price": "5"},
    ],
    "currency": "EUR",
    "total": "1.00",
    "shipping_address": {"line1": "1 Via Roma", "city": "Rome", "postcode": "00100", "country": "IT"},
    "payment": {"method": "card", "token": "tok_ok"},
}
MARKETPLACE_ORDER = {
    "ref": "M-7",
    "buyer": {"mail": "bob@example.com", "full_name": "Bob"},
    "items": [{"product_code": "MUG", "qty": 3, "price_cents": 1990}],
    "currency": "GBP",
    "ship_to": {"street": "2 High St", "town": "Leeds", "zip": "LS1", "country_code": "GB"},
    "paid": {"token": "tok_ok"},
}


def append(stream: str, event_type: str, data: dict, metadata: dict | None = None) -> RecordedEvent:
    event_id = uuid.uuid4()
    # As the gateway does: an input message starts its own flow.
    metadata = {"correlation_id": str(event_id), **(metadata or {})}
    EventStore().append(stream, [NewEvent(event_type, data, metadata, event_id)], ANY)
    return EventStore().read_stream(stream)[-1]


def received(body: dict, *, source: str = "web", applies: str = "order", partner: str = "acme") -> RecordedEvent:
    metadata = {"applies": applies, "source": source, "partner": partner, "received_at": "2026-11-26T12:00:00+00:00"}
    return append("shop-input", "ShopDataReceived", body, {**metadata, "idempotency_key": None})


def dispatched(order_id: str) -> RecordedEvent:
    data = {"order_id": order_id, "carrier": "DHL", "tracking_number": "T-1"}
    return append(f"shipment-{order_id}", "ShipmentDispatched", data, {"correlation_id": "flow-1"})


def cancel(order_id: str, *, source: str = "web") -> RecordedEvent:
    return received({"action": "cancel", "order_id": order_id, "reason": "changed my mind"}, source=source)


def run(event: RecordedEvent) -> None:
    with transaction.atomic():  # as the consumer group mechanism runs it
        handle(event)


def order_events(order_id: str) -> list[RecordedEvent]:
    return EventStore().read_stream(f"order-{order_id}")


def test_the_group_reads_shop_input_and_dispatches_on_the_orders_queue():
    assert (GROUP.name, GROUP.queue) == ("orders", "orders")
    assert GROUP.matches(category="shop", event_type="ShopDataReceived")
    assert GROUP.matches(category="shipment", event_type="ShipmentDispatched")
    assert not GROUP.matches(category="shipment", event_type="ShipmentRequested")


def test_a_web_order_is_placed_with_the_computed_total_and_the_inputs_partner_source_and_flow():
    cause = received(WEB_ORDER, partner="acme")
    run(cause)
    [placed] = order_events("W-1")
    assert placed.event_type == "OrderPlaced"
    assert placed.data == {
        "order_id": "W-1",
        "partner": "acme",
        "source": "web",
        "customer": {"email": "ann@example.com", "name": "Ann"},
        "lines": [
            {"sku": "TEE-RED-M", "quantity": 2, "unit_price": "19.90"},
            {"sku": "CAP", "quantity": 1, "unit_price": "5"},
        ],
        "currency": "EUR",
        "total": "44.80",
        "shipping_address": {"line1": "1 Via Roma", "city": "Rome", "postcode": "00100", "country": "IT"},
        "payment_token": "tok_ok",
    }
    assert placed.correlation_id == str(cause.event_id)
    assert placed.causation_id == str(cause.event_id)


def test_an_order_handled_twice_is_placed_once():
    cause = received(WEB_ORDER)
    run(cause)
    run(cause)
    assert [e.event_type for e in order_events("W-1")] == ["OrderPlaced"]


def test_a_web_order_without_an_order_id_is_placed_under_the_input_events_id():
    cause = received({k: v for k, v in WEB_ORDER.items() if k != "order_id"})
    run(cause)
    run(cause)  # a redelivery finds the same order
    [placed] = order_events(str(cause.event_id))
    assert placed.data["order_id"] == str(cause.event_id)


def test_a_marketplace_order_is_placed_with_prices_from_cents():
    run(received(MARKETPLACE_ORDER, source="marketplace", partner="bazaar"))
    [placed] = order_events("M-7")
    assert (placed.data["source"], placed.data["partner"]) == ("marketplace", "bazaar")
    assert placed.data["lines"] == [{"sku": "MUG", "quantity": 3, "unit_price": "19.90"}]
    assert (placed.data["total"], placed.data["currency"]) == ("59.70", "GBP")


def test_a_cancel_before_dispatch_cancels_the_order():
    run(received(WEB_ORDER))
    cause = cancel("W-1")
    run(cause)
    run(cause)
    placed, cancelled = order_events("W-1")
    assert (cancelled.event_type, cancelled.data) == (
        "OrderCancelled",
        {"order_id": "W-1", "reason": "changed my mind", "requested_by": "customer"},
    )
    assert (cancelled.correlation_id, cancelled.causation_id) == (str(cause.event_id), str(cause.event_id))
    assert cancelled.metadata["schema_version"] == 2


@pytest.mark.parametrize(("source", "requested_by"), [("staff", "staff"), ("marketplace", "partner")])
def test_a_cancel_records_who_asked_for_it_from_its_source(source, requested_by):
    run(received(WEB_ORDER))
    run(cancel("W-1", source=source))
    placed, cancelled = order_events("W-1")
    assert cancelled.data["requested_by"] == requested_by


def test_a_dispatch_is_cached_once_however_often_it_is_delivered():
    event = dispatched("W-1")
    run(event)
    run(event)
    assert list(DispatchedOrder.objects.values_list("order_id", "dispatched_at")) == [("W-1", event.recorded_at)]
    assert order_events("W-1") == []  # orders only notes the dispatch


def test_a_cancel_after_dispatch_is_rejected():
    run(received(WEB_ORDER))
    run(dispatched("W-1"))
    cause = cancel("W-1")
    run(cause)
    placed, rejected = order_events("W-1")
    assert (rejected.event_type, rejected.data) == (
        "OrderCancellationRejected",
        {"order_id": "W-1", "reason": DISPATCHED_REASON},
    )
    assert (rejected.correlation_id, rejected.causation_id) == (str(cause.event_id), str(cause.event_id))


def test_a_cancel_for_an_unknown_order_waits_for_what_came_before_it_so_it_is_retried():
    with pytest.raises(Waiting) as waiting:
        run(cancel("never-placed"))
    assert waiting.value.event_id is None  # whatever orders received before it
    assert isinstance(waiting.value.__cause__, OrderNotFound)
    assert order_events("never-placed") == []


def test_an_invalid_order_is_parked_with_its_reason_and_appends_nothing():
    with pytest.raises(PermanentFailure, match="Unknown currency 'XYZ'"):
        run(received({**WEB_ORDER, "currency": "XYZ"}))
    assert list(Event.objects.values_list("stream_id", flat=True)) == ["shop-input"]


def test_an_order_from_an_unknown_source_is_parked():
    with pytest.raises(PermanentFailure, match="No order shape for source 'fax'"):
        run(received(WEB_ORDER, source="fax"))


def test_a_message_for_another_component_is_not_taken():
    message = received({"order_id": "W-1", "status": "dispatched"}, applies="shipment", source="warehouse")
    assert not GROUP.accepts(message)
    assert GROUP.accepts(received(WEB_ORDER)) and GROUP.accepts(dispatched("W-1"))
