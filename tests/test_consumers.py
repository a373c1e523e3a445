"""Consumer groups: each message handled once per group, retried, parked, replayed, skipped, swept."""

import threading
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django.core.cache import cache
from django.db.utils import OperationalError

from eventstore.consumers import (
    ConsumerGroup,
    Drained,
    PermanentFailure,
    Waiting,
    deliver,
    drain,
    partition_of,
    pending_partitions,
    replay_parked,
    skip_parked,
    status,
)
from eventstore.consumers.partitions import drain_requested_key
from eventstore.models import ConsumerPartition, Delivery, ParkedMessage, ProcessedEvent
from eventstore.store import ANY, NO_STREAM, EventStore, NewEvent, WrongExpectedVersion, caused_by
from tests.connection_cuts import terminate_own_connection
from tests.leasing import live_holder
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


def test_a_message_failing_max_retries_times_is_parked_with_its_last_error(settings):
    settings.CONSUMER_RETRY_BASE_SECONDS = 1  # a group without its own backoff takes the setting's
    handler, event_id = Handler(*[RuntimeError(f"failure {n}") for n in range(3)]), received()
    group = billing(handler, max_retries=3)
    assert [deliver(group, event_id) for _ in range(3)] == [1.0, 2.0, None]
    parked = ParkedMessage.objects.get(group="billing", event_id=event_id)
    assert (parked.failures, parked.event_type, parked.stream_id) == (3, "OrderPlaced", "order-A-1")
    assert "failure 2" in parked.reason
    assert not Delivery.objects.exists()
    assert deliver(group, event_id) is None  # parked: not handled again until replayed
    assert handler.calls == 3


def waiting_for(other: uuid.UUID) -> ConsumerGroup:
    """Billing whose handler appends, then raises Waiting for `other`, at every call."""
    handler = Handler(*[Waiting("the charge is not settled", event_id=other)] * 10)
    return billing(handler, retry_base_seconds=2, max_retries=3)


def test_a_message_waiting_for_an_unsettled_one_is_retried_without_counting_failures():
    charge, refund = received("A-1"), received("A-2")
    for _ in range(5):  # more than max_retries
        assert deliver(waiting_for(charge), refund) == 2  # the first backoff each time, not a growing one
    delivery = Delivery.objects.get(group="billing", event_id=refund)
    assert (delivery.failures, delivery.last_error) == (0, "Waiting: the charge is not settled")
    assert not ParkedMessage.objects.exists()
    assert payments("A-2") == []  # what the handler wrote went with its transaction
    assert status(waiting_for(charge)).retrying == 0  # waiting is no failure
    deliver(billing(Handler()), charge)
    assert deliver(billing(Handler()), refund) is None
    assert len(payments("A-2")) == 1


def test_a_message_still_waiting_once_the_other_is_settled_counts_failures_and_parks():
    charge, refund = received("A-1"), received("A-2")
    deliver(billing(Handler(PermanentFailure("unknown currency"))), charge)  # parked: settled
    assert [deliver(waiting_for(charge), refund) for _ in range(3)] == [2, 4, None]
    parked = ParkedMessage.objects.get(group="billing", event_id=refund)
    assert parked.reason == "Failed 3 times; last: Waiting: the charge is not settled"


def ahead_of_its_order(**options) -> ConsumerGroup:
    """Billing whose handler appends, then raises Waiting for whatever came before, at every call."""
    return billing(Handler(*[Waiting("no such order yet")] * 10), retry_base_seconds=2, max_retries=3, **options)


def test_a_message_waits_without_counting_failures_while_the_group_has_an_earlier_one_in_hand():
    earlier, cancel, later = received("A-1"), received("A-2"), received("A-3")
    assert deliver(billing(Handler(RuntimeError("provider down"))), earlier) is not None  # retrying
    for _ in range(5):  # more than max_retries
        assert deliver(ahead_of_its_order(), cancel) == 2
    assert Delivery.objects.get(event_id=cancel).failures == 0
    deliver(billing(Handler()), earlier)
    # `later`, unsettled too, came after it: only what came before counts.
    assert [deliver(ahead_of_its_order(), cancel) for _ in range(3)] == [2, 4, None]
    parked = ParkedMessage.objects.get(event_id=cancel)
    assert parked.reason == "Failed 3 times; last: Waiting: no such order yet"
    assert not ProcessedEvent.objects.filter(event_id=later).exists()


def test_an_earlier_event_the_groups_selector_refuses_is_not_waited_for():
    refused, cancel = received("A-1"), received("A-2")
    group = ahead_of_its_order(selector=lambda event: event.stream_id != "order-A-1")
    assert deliver(group, cancel) == 2
    assert Delivery.objects.get(event_id=cancel).failures == 1  # nothing in hand before it: a failure
    assert not ProcessedEvent.objects.filter(event_id=refused).exists()


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


# --- partitions and drains -------------------------------------------------------------------


def partition(event_id) -> int:
    return partition_of(store.get(event_id).correlation_id)


def test_a_drain_handles_its_partitions_events_and_moves_its_checkpoint(settings):
    settings.CONSUMER_PARTITIONS = 2
    handler = Handler()
    group = billing(handler)
    ids = [received(f"A-{n}") for n in range(12)]
    received("A-99", event_type="OrderCancelled")  # not the group's
    for part in (0, 1):
        assert drain(group, part) is Drained.CAUGHT_UP
    handled = ProcessedEvent.objects.filter(group="billing").values_list("event_id", flat=True)
    assert (handler.calls, sorted(handled)) == (12, sorted(ids))  # every event once, by its partition
    # Each checkpoint passes its own events and the other partition's: the last matching event.
    last = max(store.get(i).position for i in ids)
    assert {(r.partition, r.position) for r in ConsumerPartition.objects.all()} == {(0, last), (1, last)}
    assert {partition(i) for i in ids} == {0, 1}
    assert pending_partitions(group) == []


def test_a_drain_keeps_its_checkpoint_before_a_message_waiting_out_its_backoff(settings):
    settings.CONSUMER_PARTITIONS = 1
    group = billing(Handler(RuntimeError("provider down")), retry_base_seconds=600)
    failing, later = received("A-1"), received("A-2")
    drain(group, 0)
    row = ConsumerPartition.objects.get()
    assert row.position < store.get(failing).position  # not past the failed one
    assert ProcessedEvent.objects.filter(event_id=later).exists()  # the next one was not held up
    drain(group, 0)  # the backoff is not over: not tried again
    assert Delivery.objects.get(event_id=failing).failures == 1
    assert pending_partitions(group) == [0]
    Delivery.objects.update(next_attempt_at=Delivery.objects.get().next_attempt_at - timedelta(seconds=600))
    drain(group, 0)
    assert ConsumerPartition.objects.get().position == store.get(later).position
    assert len(payments("A-1")) == 1


def test_a_drain_keeps_its_checkpoint_before_a_waiting_message_of_an_earlier_page(settings):
    """Found by bench/soak.py: a later page's settled events moved the checkpoint past a message of
    an earlier page that was waiting out its backoff, and it was never tried again."""
    settings.CONSUMER_PARTITIONS = 1
    group = billing(Handler(RuntimeError("provider down")), retry_base_seconds=600)
    failing, later = received("A-1"), received("A-2")
    drain(group, 0, page=1)
    assert ProcessedEvent.objects.filter(event_id=later).exists()  # the next page was handled
    assert ConsumerPartition.objects.get().position < store.get(failing).position
    assert pending_partitions(group) == [0]


def test_a_drain_moves_past_parked_messages(settings):
    settings.CONSUMER_PARTITIONS = 1
    group = billing(Handler(PermanentFailure("bad")))
    event_id = received()
    drain(group, 0)
    assert ParkedMessage.objects.filter(event_id=event_id).exists()
    assert ConsumerPartition.objects.get().position == store.get(event_id).position


@pytest.mark.postgresql
def test_a_drain_whose_connection_the_database_cut_lets_go_of_its_partition(settings, monkeypatch):
    """Found by CI (R22): a drain cut off between two statements kept its partition for the
    lease's 15 s, and a cancel's refund behind it used up its retries meanwhile."""
    settings.CONSUMER_PARTITIONS = 1
    received()
    monkeypatch.setattr(EventStore, "scan_all", lambda self, **_: terminate_own_connection())
    with pytest.raises(OperationalError):
        drain(billing(Handler()), 0)
    monkeypatch.undo()
    assert ConsumerPartition.objects.get().leased_by == ""  # let go, on a new connection
    assert drain(billing(Handler()), 0) is Drained.CAUGHT_UP
    assert len(payments()) == 1


def test_a_partition_is_drained_by_one_runner_at_a_time(settings):
    settings.CONSUMER_PARTITIONS = 1
    group = billing(Handler())
    received()
    inner = []

    def handler(event):
        inner.append(drain(group, 0))  # a second runner while the first holds the lease
        Handler()(event)

    assert drain(billing(handler), 0) is Drained.CAUGHT_UP
    assert inner == [Drained.BUSY]
    assert len(payments()) == 1


def test_a_drain_asked_for_while_one_runs_is_queued_again_by_the_runner(settings):
    """The request found the partition busy: the runner says MORE, and its task queues another."""
    settings.CONSUMER_PARTITIONS = 1
    received()

    def handler(event):
        cache.add(drain_requested_key("billing", 0), 1)  # what a commit does meanwhile
        Handler()(event)

    assert drain(billing(handler), 0) is Drained.MORE
    assert drain(billing(handler), 0) is Drained.CAUGHT_UP  # nothing was asked for during this one


def test_a_lease_left_by_a_stalled_runner_is_taken_once_it_expires(settings):
    # Stalled, not dead: its session lives on (a dead one's lease ends with its session, tests/test_leases.py).
    settings.CONSUMER_PARTITIONS = 1
    group = billing(Handler())
    received()
    drain(group, 0)
    with live_holder("stalled"):
        ConsumerPartition.objects.update(leased_by="stalled", leased_until=datetime.now(UTC) + timedelta(seconds=60))
        event_id = received("A-2")
        assert drain(group, 0) is Drained.BUSY
        assert not ProcessedEvent.objects.filter(event_id=event_id).exists()
        ConsumerPartition.objects.update(leased_until=datetime.now(UTC) - timedelta(seconds=1))
        drain(group, 0)
    assert ProcessedEvent.objects.filter(event_id=event_id).exists()


def test_a_drain_that_runs_out_of_time_says_there_is_more(settings):
    settings.CONSUMER_PARTITIONS = 1
    group = billing(Handler())
    for n in range(5):
        received(f"A-{n}")
    assert drain(group, 0, seconds=0, page=2) is Drained.MORE
    assert ProcessedEvent.objects.count() == 2
    while drain(group, 0, seconds=0, page=2) is Drained.MORE:
        pass
    assert ProcessedEvent.objects.count() == 5


def test_the_sweep_moves_a_partition_with_nothing_of_its_own_past_the_others_events(settings):
    """Else a partition no flow falls in would be scanned from the start at every sweep."""
    settings.CONSUMER_PARTITIONS = 2
    cause = store.get(received("A-1"))
    for n in range(2, 6):  # one flow: every event in the same partition
        store.append(f"order-A-{n}", [NewEvent("OrderPlaced", {"order_id": f"A-{n}"}, caused_by(cause))], NO_STREAM)
    own = partition_of(cause.correlation_id)
    last = store.read_all()[-1]
    assert pending_partitions(billing(Handler())) == [own]
    other = ConsumerPartition.objects.get(partition=1 - own)
    assert (other.transaction_id, other.position) == last.checkpoint
    assert ConsumerPartition.objects.get(partition=own).position == 0  # its events wait for its drain


def test_one_flows_events_fall_in_one_partition(settings):
    settings.CONSUMER_PARTITIONS = 8
    cause = store.get(received("A-1"))
    effect = NewEvent("PaymentCaptured", {}, caused_by(cause))
    store.append("payment-A-1", [effect], NO_STREAM)
    assert partition_of(store.get(effect.event_id).correlation_id) == partition_of(cause.correlation_id)


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
    assert (status(group).lag_events, status(group).retrying) == (0, 0)  # handled at the retry: no longer retrying


def test_status_counts_no_lag_for_events_the_selector_refuses():
    group = billing(Handler(), selector=lambda event: event.metadata["correlation_id"] != "refused")
    received("A-1")
    refused = NewEvent("OrderPlaced", {"order_id": "A-2"}, {"correlation_id": "refused"})
    store.append("order-A-2", [refused], NO_STREAM)
    assert status(group).lag_events == 1
