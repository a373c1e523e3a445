"""Billing's handler on the database: placed orders are charged, cancelled ones refunded, once."""

import pytest
from django.db import transaction

from billing import bootstrap
from billing.domain import PaymentNotSettled
from billing.payment_gateway import PaymentGatewayUnavailable
from billing.reactions import GROUP
from eventstore.consumers import PermanentFailure, Waiting, group
from eventstore.store import ANY, EventStore, NewEvent, RecordedEvent

pytestmark = pytest.mark.django_db

handle = GROUP.handler


def order_placed(order_id: str = "o-1", *, token: str = "tok_ok", total: str = "39.80") -> dict:
    return {
        "order_id": order_id,
        "partner": None,
        "source": "web",
        "customer": {"email": "ann@example.com", "name": "Ann"},
        "lines": [{"sku": "TEE-RED-M", "quantity": 2, "unit_price": "19.90"}],
        "currency": "EUR",
        "total": total,
        "shipping_address": {"line1": "1 Via Roma", "city": "Rome", "postcode": "00100", "country": "IT"},
        "payment_token": token,
    }


def order_cancelled(order_id: str = "o-1") -> dict:
    return {"order_id": order_id, "reason": "changed my mind"}


def append(event_type: str, data: dict, *, correlation_id: str = "msg-1") -> RecordedEvent:
    stream = f"order-{data['order_id']}"
    EventStore().append(stream, [NewEvent(event_type, data, {"correlation_id": correlation_id})], ANY)
    return EventStore().read_stream(stream)[-1]


def handled(event: RecordedEvent) -> None:
    with transaction.atomic():  # as the consumer group runs it
        handle(event)


def payment_events(order_id: str = "o-1") -> list[RecordedEvent]:
    return EventStore().read_stream(f"payment-{order_id}")


def test_the_group_is_registered_for_orders_placed_cancelled_and_returned():
    assert group("billing") is GROUP
    assert (GROUP.queue, GROUP.event_types) == ("billing", ("OrderPlaced", "OrderCancelled", "ReturnReceived"))


def test_a_placed_order_is_captured_for_its_total_and_caused_by_it():
    placed = append("OrderPlaced", order_placed())
    handled(placed)
    [captured] = payment_events()
    assert captured.event_type == "PaymentCaptured"
    assert captured.data == {
        "order_id": "o-1",
        "amount": "39.80",
        "currency": "EUR",
        "provider_ref": captured.data["provider_ref"],
    }
    assert captured.data["provider_ref"].startswith("ch_")
    assert (captured.correlation_id, captured.causation_id) == ("msg-1", str(placed.event_id))


def test_a_declined_card_records_payment_declined():
    handled(append("OrderPlaced", order_placed(token="tok_decline")))
    [declined] = payment_events()
    assert (declined.event_type, declined.data) == ("PaymentDeclined", {"order_id": "o-1", "reason": "card declined"})


def test_a_flaky_provider_fails_twice_appending_nothing_then_captures():
    placed = append("OrderPlaced", order_placed(token="tok_flaky"))
    for _ in range(2):
        with pytest.raises(PaymentGatewayUnavailable):
            handled(placed)
        assert payment_events() == []
    handled(placed)
    assert [e.event_type for e in payment_events()] == ["PaymentCaptured"]


def test_a_placed_order_handled_twice_is_captured_once():
    placed = append("OrderPlaced", order_placed())
    handled(placed)
    handled(placed)
    assert [e.event_type for e in payment_events()] == ["PaymentCaptured"]


def test_a_cancelled_order_is_refunded_the_captured_amount():
    handled(append("OrderPlaced", order_placed()))
    cancelled = append("OrderCancelled", order_cancelled(), correlation_id="msg-2")
    handled(cancelled)
    captured, refunded = payment_events()
    assert refunded.event_type == "PaymentRefunded"
    assert refunded.data == {
        "order_id": "o-1",
        "amount": "39.80",
        "currency": "EUR",
        "provider_ref": refunded.data["provider_ref"],
    }
    assert refunded.data["provider_ref"].startswith("re_")
    assert (refunded.correlation_id, refunded.causation_id) == ("msg-2", str(cancelled.event_id))
    handled(cancelled)
    assert len(payment_events()) == 2


def test_a_cancelled_order_whose_card_was_declined_records_no_refund():
    handled(append("OrderPlaced", order_placed(token="tok_decline")))
    handled(append("OrderCancelled", order_cancelled()))
    assert [e.event_type for e in payment_events()] == ["PaymentDeclined"]


def test_a_cancel_handled_before_the_charge_waits_for_the_orders_placing_then_refunds():
    placed = append("OrderPlaced", order_placed())
    cancelled = append("OrderCancelled", order_cancelled())
    with pytest.raises(Waiting) as waiting:
        handled(cancelled)
    assert waiting.value.event_id == placed.event_id
    assert isinstance(waiting.value.__cause__, PaymentNotSettled)
    assert payment_events() == []
    handled(placed)
    handled(cancelled)  # the retry
    assert [e.event_type for e in payment_events()] == ["PaymentCaptured", "PaymentRefunded"]


def returned(order_id: str = "o-1", *, correlation_id: str = "msg-3") -> RecordedEvent:
    stream = f"return-{order_id}"
    EventStore().append(
        stream, [NewEvent("ReturnReceived", {"order_id": order_id}, {"correlation_id": correlation_id})], ANY
    )
    return EventStore().read_stream(stream)[-1]


def test_a_returned_order_is_refunded_once_whatever_else_happened():
    handled(append("OrderPlaced", order_placed()))
    received = returned()
    handled(received)
    captured, refunded = payment_events()
    assert (refunded.event_type, refunded.data["amount"], refunded.causation_id) == (
        "PaymentRefunded",
        "39.80",
        str(received.event_id),
    )
    handled(returned(correlation_id="msg-4"))  # the warehouse said it twice
    handled(append("OrderCancelled", order_cancelled()))  # a cancel raced the shipment (parked in shipping)
    assert [e.event_type for e in payment_events()] == ["PaymentCaptured", "PaymentRefunded"]


def test_a_return_after_a_refunded_cancel_refunds_nothing_more():
    handled(append("OrderPlaced", order_placed()))
    handled(append("OrderCancelled", order_cancelled()))
    handled(returned())
    assert [e.event_type for e in payment_events()] == ["PaymentCaptured", "PaymentRefunded"]


def test_the_reactions_take_the_dependencies_a_test_hands_in():
    """The bootstrap builds the provider; a test gives the reactions one of its own."""

    class Down:
        def charge(self, **_: object) -> None:
            raise PaymentGatewayUnavailable("the test's provider is down")

    built = bootstrap.build()
    reactions = GROUP.handler.using(lambda: bootstrap.Dependencies(built.payments, Down(), built.store))
    with pytest.raises(PaymentGatewayUnavailable, match="the test's provider"), transaction.atomic():
        reactions(append("OrderPlaced", order_placed()))
    assert payment_events() == []


def test_an_unreadable_order_placed_is_a_permanent_failure():
    placed = append("OrderPlaced", order_placed(total="lots"))
    with pytest.raises(PermanentFailure, match="total"):
        handled(placed)
    assert payment_events() == []


def test_other_event_types_are_ignored():
    handled(append("OrderCancellationRejected", order_cancelled()))
    assert payment_events() == []
