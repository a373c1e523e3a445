"""The webhooks consumer group on the database: orders' changes of status and messages' outcomes
become deliveries in the outbox, once each, for the endpoints of the partner concerned."""

import json
import uuid

import pytest

from eventstore import consumers, outcomes
from eventstore.consumers import deliver
from eventstore.models import Delivery, ParkedMessage
from eventstore.store import ANY, EventStore, NewEvent, RecordedEvent
from gateway.models import Partner
from tests.flows import placed
from webhooks.models import KnownOrder, WebhookDelivery, WebhookEndpoint
from webhooks.reactions import GROUP

pytestmark = pytest.mark.django_db

store = EventStore()


@pytest.fixture(autouse=True)
def _private_receivers_allowed(settings):
    settings.WEBHOOK_ALLOW_PRIVATE = True


def endpoint(partner: str = "acme", **fields) -> WebhookEndpoint:
    owner, _ = Partner.objects.get_or_create(name=partner, defaults={"allowed_sources": ["web"]})
    return WebhookEndpoint.objects.create(partner=owner, url=f"http://127.0.0.1:9/{partner}", **fields)


def appended(stream: str, event_type: str, data: dict, *, flow: str = "flow-1") -> RecordedEvent:
    store.append(stream, [NewEvent(event_type, data, {"correlation_id": flow})], ANY)
    return store.read_stream(stream)[-1]


def placed_order(order_id: str = "A-1", *, partner: str = "acme") -> RecordedEvent:
    result = placed(order_id, flow=f"flow-{order_id}")
    event = store.read_stream(result.stream_id)[-1]
    if partner != "acme":  # flows.placed always writes acme's: another partner's order, as its OrderPlaced says
        event = RecordedEvent(**{**event.__dict__, "data": {**event.data, "partner": partner}})
    return event


def handled(*events: RecordedEvent) -> None:
    for event in events:
        assert consumers.handle(GROUP, event) is None, event.event_type


def sent(endpoint_: WebhookEndpoint) -> list[tuple[str, str, int]]:
    return list(endpoint_.deliveries.order_by("id").values_list("kind", "subject", "sequence"))


def test_the_group_is_found_registered_on_its_own_queue():
    assert consumers.group("webhooks") is GROUP
    assert GROUP.queue == "webhooks"
    assert {"OrderPlaced", "PaymentCaptured", "MessageParked", "MessageUnroutable"} <= set(GROUP.event_types)


def test_an_orders_changes_become_deliveries_for_its_partners_endpoints_in_order():
    acme, globex = endpoint("acme"), endpoint("globex")
    handled(
        placed_order("A-1"),
        appended("payment-A-1", "PaymentCaptured", {"order_id": "A-1", "amount": "10.00", "currency": "EUR"}),
        appended("shipment-A-1", "ShipmentDispatched", {"order_id": "A-1", "carrier": "DHL"}, flow="warehouse-1"),
        appended("shipment-A-1", "ShipmentDelivered", {"order_id": "A-1"}, flow="warehouse-2"),
    )
    assert sent(acme) == [
        ("order.placed", "order:A-1", 1),
        ("order.paid", "order:A-1", 2),
        ("order.dispatched", "order:A-1", 3),
        ("order.delivered", "order:A-1", 4),
    ]
    assert sent(globex) == []
    paid = acme.deliveries.get(kind="order.paid")
    event = store.read_stream("payment-A-1")[0]
    assert json.loads(paid.body) == {
        "id": str(event.event_id),
        "type": "order.paid",
        "created_at": event.recorded_at.isoformat(),
        "data": {"order_id": "A-1", "status": "paid", "previous_status": "placed"},
    }
    assert (paid.event_id, paid.order_id, paid.state, paid.attempts) == (event.event_id, "A-1", "pending", 0)
    assert KnownOrder.objects.get(order_id="A-1").status == "delivered"


def test_each_order_has_its_own_sequence_and_each_endpoint_its_own_rows():
    first, second = endpoint("acme"), endpoint("acme")
    handled(placed_order("A-1"), placed_order("A-2"))
    handled(appended("payment-A-2", "PaymentDeclined", {"order_id": "A-2", "reason": "declined"}, flow="flow-A-2"))
    for each in (first, second):
        assert sent(each) == [
            ("order.placed", "order:A-1", 1),
            ("order.placed", "order:A-2", 1),
            ("order.payment_declined", "order:A-2", 2),
        ]


def test_an_endpoint_is_written_only_the_kinds_it_asked_for():
    paid_only = endpoint("acme", kinds=["order.paid"])
    everything = endpoint("acme")
    handled(placed_order("A-1"), appended("payment-A-1", "PaymentCaptured", {"order_id": "A-1"}, flow="flow-A-1"))
    assert sent(paid_only) == [("order.paid", "order:A-1", 1)]
    assert [kind for kind, _, _ in sent(everything)] == ["order.placed", "order.paid"]


def test_an_inactive_endpoint_is_written_nothing():
    asleep = endpoint("acme", active=False)
    handled(placed_order("A-1"))
    assert sent(asleep) == []


def test_an_event_delivered_again_writes_no_second_delivery():
    acme = endpoint("acme")
    event = placed_order("A-1")
    for _ in range(3):
        assert deliver(GROUP, event.event_id) is None
    assert sent(acme) == [("order.placed", "order:A-1", 1)]


def test_an_event_that_changes_no_status_writes_nothing():
    acme = endpoint("acme")
    handled(
        placed_order("A-1"),
        appended(
            "order-A-1",
            "OrderCancelled",
            {"order_id": "A-1", "reason": "changed my mind", "requested_by": "customer"},
            flow="cancel-1",
        ),
        appended("payment-A-1", "PaymentCaptured", {"order_id": "A-1"}, flow="flow-A-1"),
    )
    assert [kind for kind, _, _ in sent(acme)] == ["order.placed", "order.cancelled"]


def test_an_order_whose_partner_has_no_endpoint_writes_nothing_but_is_known():
    endpoint("globex")
    handled(placed_order("A-1"))
    assert not WebhookDelivery.objects.exists()
    assert KnownOrder.objects.get(order_id="A-1").partner == "acme"


def test_an_event_about_an_order_never_placed_writes_nothing_and_waits_for_nothing():
    endpoint("acme")
    handled(appended("payment-Z-9", "PaymentCaptured", {"order_id": "Z-9"}))
    assert not WebhookDelivery.objects.exists()
    assert not ParkedMessage.objects.exists()


def test_a_dispatch_reaching_the_group_before_its_capture_waits_for_it_and_the_order_is_kept():
    """The dispatch comes from the warehouse's flow, in another partition than the order's."""
    acme = endpoint("acme")
    order = placed_order("A-1")
    captured = appended("payment-A-1", "PaymentCaptured", {"order_id": "A-1"}, flow="flow-A-1")
    dispatched = appended("shipment-A-1", "ShipmentDispatched", {"order_id": "A-1"}, flow="warehouse-1")
    handled(order)
    for _ in range(GROUP.max_retries + 2):
        assert deliver(GROUP, dispatched.event_id) is not None  # waits for the capture
    waiting = Delivery.objects.get(group="webhooks", event_id=dispatched.event_id)
    assert waiting.failures == 0 and "PaymentCaptured" in waiting.last_error
    assert [kind for kind, _, _ in sent(acme)] == ["order.placed"]
    handled(captured)
    assert deliver(GROUP, dispatched.event_id) is None
    assert [kind for kind, _, _ in sent(acme)] == ["order.placed", "order.paid", "order.dispatched"]


def test_a_capture_reaching_the_group_before_its_order_waits_for_the_order():
    acme = endpoint("acme")
    order = placed_order("A-1")
    captured = appended("payment-A-1", "PaymentCaptured", {"order_id": "A-1"}, flow="flow-A-1")
    assert deliver(GROUP, captured.event_id) is not None
    assert not WebhookDelivery.objects.exists()
    handled(order)
    assert deliver(GROUP, captured.event_id) is None
    assert [kind for kind, _, _ in sent(acme)] == ["order.placed", "order.paid"]


def outcome(event_type: str, data: dict) -> RecordedEvent:
    """An outcome event in the shape eventstore.outcomes gives it."""
    message_id = data["message_id"]
    metadata = {"correlation_id": message_id, "causation_id": message_id}
    store.append(outcomes.outcome_stream(message_id), [NewEvent(event_type, data, metadata)], ANY)
    return store.read_stream(outcomes.outcome_stream(message_id))[-1]


def test_a_messages_rejection_parking_and_unroutability_are_told_to_its_sender():
    acme, globex = endpoint("acme"), endpoint("globex")
    rejected_id, parked_id, unroutable_id = (str(uuid.uuid4()) for _ in range(3))
    rejected = {
        "message_id": rejected_id,
        "component": "orders",
        "partner": "acme",
        "order_id": "A-1",
        "reason": "Order 'A-1' was already placed with other content; send a new order id for a new order.",
    }
    parked = {
        "message_id": parked_id,
        "component": "orders",
        "partner": "acme",
        "order_id": None,
        "reason": "No lines.",
    }
    unroutable = {"message_id": unroutable_id, "partner": "acme", "applies": "invoice"}
    events = [
        outcome(outcomes.MESSAGE_REJECTED, rejected),
        outcome(outcomes.MESSAGE_PARKED, parked),
        outcome(outcomes.MESSAGE_UNROUTABLE, unroutable),
    ]
    handled(*events)
    processed = outcome(outcomes.MESSAGE_PROCESSED, {**parked, "message_id": str(uuid.uuid4())})
    assert GROUP not in consumers.takers(processed)  # a processed message is not told
    assert sent(acme) == [
        ("message.rejected", f"message:{rejected_id}", 1),
        ("message.parked", f"message:{parked_id}", 1),
        ("message.unroutable", f"message:{unroutable_id}", 1),
    ]
    assert sent(globex) == []
    bodies = [json.loads(d.body) for d in acme.deliveries.order_by("id")]
    assert [body["data"] for body in bodies] == [rejected, parked, unroutable]
    assert [body["id"] for body in bodies] == [str(e.event_id) for e in events]
    first = acme.deliveries.order_by("id").first()
    assert (first.order_id, str(first.message_id)) == ("A-1", rejected_id)


def test_a_parked_message_replayed_and_parked_again_is_told_twice_in_order():
    acme = endpoint("acme")
    message_id = str(uuid.uuid4())
    parked = {"message_id": message_id, "component": "shipping", "partner": "acme", "order_id": "A-1", "reason": "x"}
    handled(outcome(outcomes.MESSAGE_PARKED, parked), outcome(outcomes.MESSAGE_PARKED, {**parked, "reason": "y"}))
    assert sent(acme) == [
        ("message.parked", f"message:{message_id}", 1),
        ("message.parked", f"message:{message_id}", 2),
    ]
