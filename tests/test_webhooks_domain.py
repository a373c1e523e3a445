"""The webhooks' domain, with no database: which kinds an order's events emit, and how long a failing
endpoint is retried (an injected clock, no sleeping)."""

from datetime import UTC, datetime, timedelta

import pytest

from eventstore import outcomes
from webhooks.domain import (
    KINDS,
    MESSAGE_KIND_OF,
    RetryPolicy,
    StatusChange,
    UnknownKind,
    checked_kinds,
    status_change,
    wants,
)

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def kinds_emitted(event_types: list[str]) -> list[str]:
    """The kinds one order's events, in order, emit (each status change once), as the group
    emits them one event at a time."""
    kinds, status = [], None
    for event_type in event_types:
        change = status_change(event_type, status=status)
        if change is not None:
            kinds.append(change.kind)
            status = change.status
    return kinds


def test_an_order_paid_dispatched_and_delivered_emits_each_change_once_in_order():
    events = ["OrderPlaced", "PaymentCaptured", "ShipmentDispatched", "ShipmentDelivered"]
    assert kinds_emitted(events) == ["order.placed", "order.paid", "order.dispatched", "order.delivered"]


def test_a_declined_payment_emits_payment_declined():
    assert kinds_emitted(["OrderPlaced", "PaymentDeclined"]) == ["order.placed", "order.payment_declined"]


def test_a_cancelled_order_emits_cancelled_and_nothing_for_a_capture_or_dispatch_after_it():
    events = ["OrderPlaced", "OrderCancelled", "PaymentCaptured", "ShipmentDispatched", "ShipmentDelivered"]
    assert kinds_emitted(events) == ["order.placed", "order.cancelled"]


def test_a_repeated_status_emits_nothing_the_second_time():
    assert kinds_emitted(["OrderPlaced", "OrderPlaced", "PaymentCaptured", "PaymentCaptured"]) == [
        "order.placed",
        "order.paid",
    ]


def test_a_delivery_reported_after_dispatch_moves_on_but_a_late_dispatch_does_not_move_back():
    events = ["OrderPlaced", "PaymentCaptured", "ShipmentDelivered", "ShipmentDispatched"]
    assert kinds_emitted(events) == ["order.placed", "order.paid", "order.delivered"]


def test_events_about_an_order_never_placed_emit_nothing():
    assert kinds_emitted(["PaymentCaptured", "ShipmentDispatched"]) == []
    assert status_change("PaymentCaptured", status=None) is None


def test_events_that_do_not_move_the_status_emit_nothing():
    assert kinds_emitted(["OrderPlaced", "ReturnRequested", "SomethingElse"]) == ["order.placed"]


def test_a_change_says_the_status_and_the_one_before():
    change = status_change("PaymentCaptured", status="placed")
    assert change == StatusChange("paid", "placed")
    assert change.kind == "order.paid"
    assert change.data(order_id="A-1") == {"order_id": "A-1", "status": "paid", "previous_status": "placed"}
    placed = status_change("OrderPlaced", status=None)
    assert placed.data(order_id="A-1") == {"order_id": "A-1", "status": "placed", "previous_status": None}


def test_every_kind_emitted_is_one_an_endpoint_may_ask_for():
    sequences = [
        ["OrderPlaced", "PaymentCaptured", "ShipmentDispatched", "ShipmentDelivered"],
        ["OrderPlaced", "PaymentDeclined", "OrderCancelled"],
    ]
    assert {kind for events in sequences for kind in kinds_emitted(events)} <= set(KINDS)


def test_message_kinds_follow_the_outcome_events_of_the_mechanism():
    assert MESSAGE_KIND_OF == {
        outcomes.MESSAGE_REJECTED: "message.rejected",
        outcomes.MESSAGE_PARKED: "message.parked",
        outcomes.MESSAGE_UNROUTABLE: "message.unroutable",
    }


def test_an_endpoint_with_no_kinds_wants_every_kind_and_one_with_kinds_only_those():
    assert all(wants([], kind) for kind in KINDS)
    assert wants(["order.paid"], "order.paid") and not wants(["order.paid"], "order.placed")


def test_an_unknown_kind_is_refused_and_repeats_are_dropped():
    assert checked_kinds(["order.paid", "order.paid", "message.parked"]) == ["order.paid", "message.parked"]
    with pytest.raises(UnknownKind, match="order.shipped"):
        checked_kinds(["order.shipped"])


def test_the_backoff_doubles_from_the_base_up_to_the_cap():
    policy = RetryPolicy(base_seconds=1, max_backoff_seconds=3600)
    assert [policy.backoff(n).total_seconds() for n in range(1, 7)] == [1, 2, 4, 8, 16, 32]
    assert policy.backoff(12) == timedelta(seconds=2048)
    assert policy.backoff(13) == policy.backoff(500) == timedelta(hours=1)


def test_a_dead_receiver_is_retried_for_at_least_24_hours_before_its_delivery_is_parked():
    """An endpoint that fails every time, on a clock that jumps to each next attempt."""
    policy = RetryPolicy()  # the settings' defaults: 1 s doubling, at most an hour, 25 hours
    created, now, failures, attempts = T0, T0, 0, []
    while True:
        attempts.append(now)
        failures += 1
        if policy.gives_up(retry_from=created, now=now):
            break
        now += policy.backoff(failures)
    parked_after = attempts[-1] - created
    assert parked_after >= timedelta(hours=24)
    assert parked_after < timedelta(hours=26)  # and not much longer than WEBHOOK_RETRY_HOURS
    gaps = [later - earlier for earlier, later in zip(attempts, attempts[1:], strict=False)]
    assert gaps == sorted(gaps) and max(gaps) == timedelta(hours=1)  # backing off, never past the cap
    assert 30 < len(attempts) < 45  # about 12 quick tries, then one an hour


def test_a_policy_with_a_shorter_retry_period_gives_up_at_its_first_failure_past_it():
    policy = RetryPolicy(retry_for=timedelta(hours=1))
    assert not policy.gives_up(retry_from=T0, now=T0 + timedelta(minutes=59))
    assert policy.gives_up(retry_from=T0, now=T0 + timedelta(hours=1))


def test_no_backoff_comes_before_a_failure():
    with pytest.raises(ValueError, match="at least one failure"):
        RetryPolicy().backoff(0)
