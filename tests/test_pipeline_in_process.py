"""The whole flow with no broker: orders posted to the gateway are placed, charged, shipped and
cancelled by the three components, each event delivered in-process when its append commits."""

import uuid

import pytest

from eventstore.consumers import deliver, sweep
from eventstore.models import ParkedMessage
from eventstore.store import EventStore
from orders.reactions import GROUP
from tests.flows import cancel, card, dispatched, marketplace_order, streams, web_order
from tests.waiting import wait_until

pytestmark = pytest.mark.django_db(transaction=True)

store = EventStore()


def test_a_cancel_handled_ahead_of_its_order_waits_for_it_however_long_it_takes(post, settings):
    """Found in review: the cancel counted failures while orders had its order's message in hand, so
    with orders behind by more than its retries (about 15 s) it was parked."""
    settings.CONSUMER_DELIVERY_ON_COMMIT = False  # the group is behind: nothing is handled yet
    post(web_order("C-1", "tok_ok"))
    cancelled = uuid.UUID(post(cancel("C-1")))
    for _ in range(GROUP.max_retries + 2):
        assert deliver(GROUP, cancelled) is not None  # waits: the order's message came first
    assert not ParkedMessage.objects.exists()
    settings.CONSUMER_DELIVERY_ON_COMMIT = True

    def caught_up() -> bool | None:
        if streams("C-1")[0] == ["OrderPlaced", "OrderCancelled"]:
            return True
        sweep()  # no broker: the sweep's drains run here, the order's first, the cancel's once its wait is over
        return None

    wait_until(caught_up, timeout=10, what="the order to be placed, then cancelled")
    assert not ParkedMessage.objects.exists()


def test_thirty_orders_reach_the_status_the_rules_give(post):
    orders = [f"O-{n}" for n in range(30)]
    for n, order_id in enumerate(orders):
        shape = web_order if n % 2 else marketplace_order
        post(shape(order_id, card(n)))
    cancelled = orders[0:6]  # before dispatch: tok_ok, tok_flaky and tok_decline orders among them
    shipped = orders[6:12]  # dispatched, then a cancel that must be rejected
    for order_id in cancelled:
        post(cancel(order_id))
    for order_id in shipped:
        if card(orders.index(order_id)) != "tok_decline":
            post(dispatched(order_id))
        post(cancel(order_id))

    assert not ParkedMessage.objects.exists(), list(ParkedMessage.objects.values("group", "reason"))
    for n, order_id in enumerate(orders):
        paid = card(n) != "tok_decline"
        order, payment, shipment = streams(order_id)
        assert order.count("OrderPlaced") == 1
        if order_id in cancelled:
            assert order == ["OrderPlaced", "OrderCancelled"]
            assert payment == (["PaymentCaptured", "PaymentRefunded"] if paid else ["PaymentDeclined"])
            assert shipment[-1] == "ShipmentCancelled"
        elif order_id in shipped and paid:
            assert order == ["OrderPlaced", "OrderCancellationRejected"]
            assert payment == ["PaymentCaptured"]
            assert shipment == ["ShipmentRequested", "ShipmentDispatched"]
        else:
            assert payment == (["PaymentCaptured"] if paid else ["PaymentDeclined"])
            assert shipment == (["ShipmentRequested"] if paid else ["ShipmentCancelled"] if order_id in shipped else [])


def test_the_flow_is_traced_by_the_input_messages_id(post):
    post(web_order("T-1", "tok_ok"))
    [message] = [e for e in store.read_stream("shop-input") if e.data.get("order_id") == "T-1"]
    flow = [e for s in ("order-T-1", "payment-T-1", "shipment-T-1") for e in store.read_stream(s)]
    assert [e.event_type for e in flow] == ["OrderPlaced", "PaymentCaptured", "ShipmentRequested"]
    assert {e.correlation_id for e in flow} == {str(message.event_id)}
    placed, captured, requested = flow
    assert (placed.causation_id, captured.causation_id, requested.causation_id) == (
        str(message.event_id),
        str(placed.event_id),
        str(captured.event_id),
    )


def test_a_message_no_component_can_map_is_parked_with_its_reason(post):
    post({**web_order("X-1", "tok_ok"), "lines": []})
    [parked] = ParkedMessage.objects.all()
    assert parked.group == "orders"
    assert "line" in parked.reason.lower()


def test_an_order_the_sweep_delivers_in_process_flows_to_the_end(post, settings):
    # Found by the storefront's tests: delivered by the sweep, orders' OrderPlaced went to billing
    # first, whose capture then reached shipping before shipping's own OrderPlaced, and parked.
    settings.CONSUMER_DELIVERY_ON_COMMIT = False
    post(web_order("W-1", "tok_ok"))
    settings.CONSUMER_DELIVERY_ON_COMMIT = True
    sweep()
    assert not ParkedMessage.objects.exists(), list(ParkedMessage.objects.values("group", "reason"))
    assert streams("W-1") == (["OrderPlaced"], ["PaymentCaptured"], ["ShipmentRequested"])
