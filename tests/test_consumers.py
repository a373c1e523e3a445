"""Consumer groups: each message handled once per group, retried, parked, replayed, skipped, swept."""

import threading
import uuid
from datetime import timedelta

import pytest

from eventstore.consumers import (
    ConsumerGroup,
    PermanentFailure,
    deliver,
    due_for_redelivery,
    replay_parked,
    skip_parked,
    status,
)
from eventstore.models import ConsumerCheckpoint, Delivery, ParkedMessage, ProcessedEvent
from eventstore.store import ANY, NO_STREAM, EventStore, NewEvent, WrongExpectedVersion, caused_by
from tests.threads import in_threads

pytestmark = pytest.mark.django_db(transaction=True)

store = EventStore()


def received(order_id: str = "A-1", *, event_type: str = "OrderPlaced") -> uuid.UUID:
    """An event in stream order-<order_id>; its id."""
    event = NewEvent(event_type, {"order_id": order_id})
    store.append(f"order-{order_id}", [event], ANY)
    return event.event_id


class Handler:
    """Appends one PaymentCaptured per order it sees; fails as told first."""

    def __init__(self, *failures: Exception) -> None:
        self.failures = list(failures)
        self.calls = 0

    def __call__(self, event) -> None:
        self.calls += 1
        store.append(
            f"payment-{event.data['order_id']}",
            [NewEvent("PaymentCaptured", {"order_id": event.data["order_id"]}, caused_by(event))],
            NO_STREAM,
        )
        if self.failures:
            raise self.failures.pop(0)


def billing(handler, **options) -> ConsumerGroup:
    return ConsumerGroup(name="billing", queue="billing", handler=handler, event_types=("OrderPlaced",), **options)


def payments(order_id: str = "A-1") -> list:
    return store.read_stream(f"payment-{order_id}")


def test_a_message_is_handled_with_its_tracking_row():
    handler = Handler()
    event_id = received()
    assert deliver(billing(handler), event_id) is None
    [payment] = payments()
    assert payment.causation_id == str(event_id)
    assert ProcessedEvent.objects.filter(group="billing", event_id=event_id).exists()


def test_a_message_delivered_again_has_no_second_effect():
    handler, event_id = Handler(), received()
    for _ in range(3):
        deliver(billing(handler), event_id)
    assert handler.calls == 1
    assert len(payments()) == 1


def test_each_group_handles_a_message_once_for_itself():
    handler, event_id = Handler(), received()
    deliver(billing(handler), event_id)
    other = ConsumerGroup(name="audit", queue="billing", handler=lambda event: None)
    deliver(other, event_id)
    assert set(ProcessedEvent.objects.values_list("group", flat=True)) == {"billing", "audit"}


def test_a_transient_failure_writes_nothing_and_is_retried_with_backoff():
    handler, event_id = Handler(RuntimeError("gateway timeout"), RuntimeError("again")), received()
    group = billing(handler, retry_base_seconds=2)
    assert deliver(group, event_id) == 2
    assert payments() == []  # the handler's append went with its transaction
    assert deliver(group, event_id) == 4
    delivery = Delivery.objects.get(group="billing", event_id=event_id)
    assert (delivery.failures, delivery.last_error) == (2, "RuntimeError: again")
    assert deliver(group, event_id) is None
    assert len(payments()) == 1


def test_a_message_failing_max_retries_times_is_parked_with_its_last_error():
    handler, event_id = Handler(*[RuntimeError(f"failure {n}") for n in range(3)]), received()
    group = billing(handler, max_retries=3)
    assert [deliver(group, event_id) for _ in range(3)] == [1.0, 2.0, None]
    parked = ParkedMessage.objects.get(group="billing", event_id=event_id)
    assert (parked.failures, parked.event_type, parked.stream_id) == (3, "OrderPlaced", "order-A-1")
    assert "failure 2" in parked.reason
    assert not Delivery.objects.exists()
    assert deliver(group, event_id) is None  # parked: not handled again until replayed
    assert handler.calls == 3


def test_a_permanent_failure_parks_at_once_with_its_reason_and_writes_nothing():
    handler, event_id = Handler(PermanentFailure("no lines")), received()
    assert deliver(billing(handler), event_id) is None
    assert ParkedMessage.objects.get(event_id=event_id).reason == "no lines"
    assert payments() == []


def test_a_replayed_message_is_handled_again():
    group = billing(Handler(PermanentFailure("unknown currency")))
    event_id = received()
    deliver(group, event_id)
    assert replay_parked(group) == [event_id]
    assert not ParkedMessage.objects.exists()
    deliver(group, event_id)
    assert len(payments()) == 1


def test_a_skipped_message_is_acknowledged_without_effect():
    handler, event_id = Handler(PermanentFailure("unknown currency")), received()
    deliver(billing(handler), event_id)
    skip_parked(billing(handler), event_id)
    deliver(billing(handler), event_id)
    assert (handler.calls, payments()) == (1, [])
    assert ProcessedEvent.objects.filter(event_id=event_id).exists()
    with pytest.raises(LookupError):
        skip_parked(billing(handler), event_id)


def test_a_concurrency_conflict_retries_the_whole_transaction_at_once():
    handler, event_id = Handler(WrongExpectedVersion("payment-A-1", NO_STREAM, 0)), received()
    assert deliver(billing(handler), event_id) is None
    assert handler.calls == 2
    assert len(payments()) == 1
    assert not Delivery.objects.exists()


@pytest.mark.postgresql
def test_a_message_delivered_twice_at_the_same_moment_has_one_effect():
    """As when a handler outlives the broker's visibility timeout (R9): two workers, one effect."""
    for round_ in range(5):
        order_id = f"B-{round_}"
        event_id = received(order_id)
        barrier = threading.Barrier(2)

        def handler(event, barrier=barrier, order_id=order_id):
            barrier.wait(timeout=10)  # both deliveries are inside the handler before either commits
            store.append(f"payment-{order_id}", [NewEvent("PaymentCaptured", {}, caused_by(event))], NO_STREAM)

        group = billing(handler)
        # The loser's retry finds the winner's tracking row without waiting at the barrier again.
        outcomes = in_threads(2, lambda n, group=group, event_id=event_id: deliver(group, event_id))
        assert outcomes == [None, None]
        assert len(payments(order_id)) == 1
        assert ProcessedEvent.objects.filter(event_id=event_id).count() == 1
        assert not ParkedMessage.objects.exists()


# --- the sweep ------------------------------------------------------------------------------


def test_the_sweep_hands_back_what_was_never_handled_and_moves_past_what_was():
    group = billing(Handler())
    first, second, third = received("A-1"), received("A-2"), received("A-3")
    received("A-4", event_type="OrderCancelled")  # not the group's
    deliver(group, first)
    assert due_for_redelivery(group, grace=timedelta(0)) == [second, third]
    checkpoint = ConsumerCheckpoint.objects.get(group="billing")
    assert checkpoint.position == store.get(first).position
    # Sent once: not sent again while it may still wait in the queue.
    assert due_for_redelivery(group, grace=timedelta(seconds=30)) == []


def test_the_sweep_leaves_fresh_messages_to_their_delivery_on_commit():
    received()
    assert due_for_redelivery(billing(Handler()), grace=timedelta(minutes=5)) == []


def test_the_sweep_waits_for_a_failed_messages_backoff():
    group = billing(Handler(RuntimeError("down")), retry_base_seconds=600)
    event_id = received()
    deliver(group, event_id)
    assert due_for_redelivery(group, grace=timedelta(0)) == []
    Delivery.objects.update(next_attempt_at=Delivery.objects.get().next_attempt_at - timedelta(seconds=600))
    assert due_for_redelivery(group, grace=timedelta(0)) == [event_id]


def test_the_sweep_moves_past_parked_messages():
    group = billing(Handler(PermanentFailure("bad")))
    event_id = received()
    deliver(group, event_id)
    assert due_for_redelivery(group, grace=timedelta(0)) == []
    assert ConsumerCheckpoint.objects.get().position == store.get(event_id).position


def test_status_shows_lag_retries_and_parked_messages():
    group = billing(Handler(PermanentFailure("bad"), RuntimeError("down")))
    parked, failing, waiting = received("A-1"), received("A-2"), received("A-3")
    deliver(group, parked)
    deliver(group, failing)
    shown = status(group)
    assert (shown.lag_events, shown.retrying, shown.parked) == (2, 1, 1)
    assert shown.lag_seconds >= 0
    deliver(group, failing)
    deliver(group, waiting)
    assert status(group).lag_events == 0
