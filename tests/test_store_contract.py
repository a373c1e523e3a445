"""The event store's contract, run on PostgreSQL and on SQLite alike."""

import uuid
from decimal import Decimal

import pytest

from eventstore.store import (
    ANY,
    NO_STREAM,
    START,
    STREAM_EXISTS,
    Checkpoint,
    DuplicateEventId,
    EventStore,
    LogEntry,
    NewEvent,
    WrongExpectedVersion,
    category_of,
    caused_by,
)
from tests.waiting import settled_log

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def store() -> EventStore:
    return EventStore()


def events(*types: str) -> list[NewEvent]:
    return [NewEvent(t, {"n": i}) for i, t in enumerate(types)]


def versions(store: EventStore, stream_id: str) -> list[tuple[int, str]]:
    return [(e.version, e.event_type) for e in store.read_stream(stream_id)]


def test_category_is_the_part_before_the_first_dash():
    assert category_of("order-42") == "order"
    assert category_of("order-2026-11-26") == "order"
    assert category_of("shop") == "shop"


def test_no_stream_creates_a_stream_at_version_zero(store):
    result = store.append("order-1", events("A", "B"), NO_STREAM)
    assert result.version == 1
    assert len(result.positions) == 2
    assert versions(store, "order-1") == [(0, "A"), (1, "B")]


def test_no_stream_on_an_existing_stream_is_refused_and_writes_nothing(store):
    store.append("order-1", events("A"), NO_STREAM)
    with pytest.raises(WrongExpectedVersion) as refused:
        store.append("order-1", events("B", "C"), NO_STREAM)
    assert (refused.value.stream_id, refused.value.expected, refused.value.actual) == ("order-1", NO_STREAM, 0)
    assert versions(store, "order-1") == [(0, "A")]


def test_exact_version_appends_after_it(store):
    store.append("order-1", events("A"), NO_STREAM)
    assert store.append("order-1", events("B"), 0).version == 1
    assert versions(store, "order-1") == [(0, "A"), (1, "B")]


@pytest.mark.parametrize("expected", [0, 2, 7])
def test_wrong_exact_version_names_stream_expected_and_actual(store, expected):
    store.append("order-1", events("A", "B"), NO_STREAM)
    with pytest.raises(WrongExpectedVersion, match=r"Stream 'order-1': expected version \d, actual version 1"):
        store.append("order-1", events("C", "D"), expected)
    assert versions(store, "order-1") == [(0, "A"), (1, "B")]


def test_exact_version_on_a_missing_stream_is_refused(store):
    with pytest.raises(WrongExpectedVersion) as refused:
        store.append("order-1", events("A"), 0)
    assert refused.value.actual == -1
    assert store.stream_version("order-1") == -1


def test_stream_exists_needs_a_stream(store):
    with pytest.raises(WrongExpectedVersion):
        store.append("order-1", events("A"), STREAM_EXISTS)
    store.append("order-1", events("A"), NO_STREAM)
    assert store.append("order-1", events("B"), STREAM_EXISTS).version == 1


def test_any_appends_to_new_and_existing_streams(store):
    assert store.append("order-1", events("A"), ANY).version == 0
    assert store.append("order-1", events("B", "C"), ANY).version == 2
    assert versions(store, "order-1") == [(0, "A"), (1, "B"), (2, "C")]


@pytest.mark.parametrize("expected", [NO_STREAM, ANY])
def test_repeating_an_append_with_the_same_event_ids_is_an_idempotent_success(store, expected):
    batch = events("A", "B")
    first = store.append("order-1", batch, expected)
    again = store.append("order-1", batch, expected)
    assert again.version == first.version == 1
    assert again.positions == ()
    assert versions(store, "order-1") == [(0, "A"), (1, "B")]


def test_repeat_with_exact_version_after_more_events_is_still_idempotent(store):
    store.append("order-1", events("A"), NO_STREAM)
    batch = events("B")
    store.append("order-1", batch, 0)
    store.append("order-1", events("C"), 1)
    assert store.append("order-1", batch, 0).positions == ()
    assert len(store.read_stream("order-1")) == 3


def test_an_event_id_reused_in_another_stream_is_an_error(store):
    batch = events("A")
    store.append("order-1", batch, NO_STREAM)
    with pytest.raises(DuplicateEventId) as refused:
        store.append("order-2", batch, NO_STREAM)
    assert refused.value.event_ids == (batch[0].event_id,)
    assert store.stream_version("order-2") == -1


def test_an_event_id_reused_at_another_place_of_the_stream_is_an_error(store):
    batch = events("A")
    store.append("order-1", batch, NO_STREAM)
    store.append("order-1", events("B"), 0)
    with pytest.raises(DuplicateEventId):
        store.append("order-1", batch, 1)
    assert store.stream_version("order-1") == 1


def test_a_partly_repeated_batch_is_refused_whole(store):
    first = events("A")
    store.append("order-1", first, NO_STREAM)
    with pytest.raises((DuplicateEventId, WrongExpectedVersion)):
        store.append("order-1", [*first, NewEvent("B", {})], NO_STREAM)
    assert versions(store, "order-1") == [(0, "A")]


def test_a_refused_append_inside_a_transaction_leaves_the_transaction_usable(store):
    from django.db import transaction

    store.append("order-1", events("A"), NO_STREAM)
    with transaction.atomic():
        with pytest.raises(WrongExpectedVersion):
            store.append("order-1", events("B", "C"), 5)
        store.append("order-2", events("X"), NO_STREAM)
    assert versions(store, "order-1") == [(0, "A")]
    assert versions(store, "order-2") == [(0, "X")]


@pytest.mark.parametrize(
    ("bad", "error"),
    [
        (-1, ValueError),
        ("0", TypeError),
        (True, TypeError),
        (None, TypeError),
    ],
)
def test_bad_expected_versions_are_refused_before_writing(store, bad, error):
    with pytest.raises(error):
        store.append("order-1", events("A"), bad)
    assert store.stream_version("order-1") == -1


def test_data_must_be_json(store):
    with pytest.raises(TypeError):
        store.append("order-1", [NewEvent("A", {"amount": Decimal("1.00")})], NO_STREAM)
    with pytest.raises(ValueError):
        store.append("order-1", [NewEvent("A", {"amount": float("nan")})], NO_STREAM)
    with pytest.raises(TypeError):
        store.append("order-1", [NewEvent("A", ["not", "an", "object"])], NO_STREAM)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        store.append("order-1", [], NO_STREAM)
    assert store.stream_version("order-1") == -1


@pytest.mark.parametrize(
    ("stream_id", "event_type", "metadata"),
    [
        ("", "A", {}),
        ("order-" + "9" * 200, "A", {}),
        (None, "A", {}),
        ("order-1", "", {}),
        ("order-1", "A" * 101, {}),
        ("order-1", None, {}),
        ("order-1", "A", {"correlation_id": ""}),
        ("order-1", "A", {"correlation_id": 42}),
    ],
)
def test_bad_names_are_refused_with_a_clear_error_before_writing(store, stream_id, event_type, metadata):
    with pytest.raises((ValueError, TypeError)):
        store.append(stream_id, [NewEvent(event_type, {}, metadata)], NO_STREAM)
    assert store.read_all() == []


def test_a_stream_id_without_a_dash_of_the_longest_size_is_its_own_category(store):
    stream_id = "s" * 200
    store.append(stream_id, events("A"), NO_STREAM)
    [recorded] = store.read_stream(stream_id)
    assert recorded.category == stream_id


def test_events_come_back_as_written(store):
    event = NewEvent("OrderPlaced", {"total": "19.90", "lines": [{"sku": "TEE", "quantity": 2}], "note": "<b>é</b>"})
    store.append("order-1", [event], NO_STREAM)
    [recorded] = store.read_stream("order-1")
    assert recorded.event_id == event.event_id
    assert recorded.event_type == "OrderPlaced"
    assert recorded.data == event.data
    assert recorded.stream_id == "order-1"
    assert recorded.category == "order"
    assert recorded.recorded_at.tzinfo is not None


def test_an_event_without_correlation_starts_its_own_flow(store):
    event = NewEvent("ShopDataReceived", {})
    store.append("shop-input", [event], ANY)
    [recorded] = store.read_stream("shop-input")
    assert recorded.correlation_id == str(event.event_id)
    assert recorded.causation_id is None


def test_caused_by_carries_the_correlation_and_names_the_cause(store):
    store.append("shop-input", [NewEvent("ShopDataReceived", {})], ANY)
    [cause] = store.read_stream("shop-input")
    store.append("order-1", [NewEvent("OrderPlaced", {}, caused_by(cause, source="web"))], NO_STREAM)
    [effect] = store.read_stream("order-1")
    assert effect.correlation_id == cause.correlation_id
    assert effect.causation_id == str(cause.event_id)
    assert effect.metadata["source"] == "web"


def test_read_stream_forwards_and_backwards_from_a_version(store):
    store.append("order-1", events("A", "B", "C", "D"), NO_STREAM)
    assert [e.version for e in store.read_stream("order-1", from_version=2)] == [2, 3]
    assert [e.version for e in store.read_stream("order-1", from_version=1, limit=2)] == [1, 2]
    assert [e.version for e in store.read_stream("order-1", backwards=True)] == [3, 2, 1, 0]
    assert [e.version for e in store.read_stream("order-1", backwards=True, from_version=1)] == [1, 0]
    assert [e.version for e in store.read_stream("order-1", backwards=True, limit=1)] == [3]
    assert store.read_stream("order-404") == []


def test_read_all_returns_the_log_in_order_after_a_checkpoint(store):
    store.append("order-1", events("A"), NO_STREAM)
    store.append("payment-1", events("B"), NO_STREAM)
    store.append("order-1", events("C"), 0)
    log = settled_log(store, 3)
    assert log == store.read_all()
    assert [(e.stream_id, e.event_type) for e in log] == [("order-1", "A"), ("payment-1", "B"), ("order-1", "C")]
    assert [e.event_type for e in store.read_all(after=log[0].checkpoint)] == ["B", "C"]
    assert store.read_all(after=log[-1].checkpoint) == []
    assert store.head() == log[-1].checkpoint
    assert [e.event_type for e in store.read_all(limit=2)] == ["A", "B"]


def test_scan_all_gives_read_alls_events_without_their_data(store):
    store.append("order-1", events("OrderPlaced"), NO_STREAM)
    store.append("payment-1", [NewEvent("PaymentCaptured", {}, {"correlation_id": "flow-1"})], NO_STREAM)
    store.append("order-1", events("OrderCancelled"), 0)
    log = settled_log(store, 3)
    scanned = store.scan_all(categories=["order"], limit=10)
    order_events = [e for e in log if e.category == "order"]
    assert scanned == [LogEntry(e.checkpoint, e.event_id, e.correlation_id) for e in order_events]
    assert [e.event_id for e in store.scan_all(after=log[0].checkpoint, limit=1)] == [log[1].event_id]
    assert store.scan_all(event_types=["PaymentCaptured"])[0].correlation_id == "flow-1"


def test_get_all_reads_events_by_id_in_log_order(store):
    store.append("order-1", events("A", "B", "C"), NO_STREAM)
    log = settled_log(store, 3)
    assert store.get_all([log[2].event_id, log[0].event_id]) == [log[0], log[2]]
    assert store.get_all([]) == []
    assert store.get(log[1].event_id) == log[1]


def test_read_all_filters_by_category_and_event_type(store):
    store.append("order-1", events("OrderPlaced"), NO_STREAM)
    store.append("payment-1", events("PaymentCaptured"), NO_STREAM)
    store.append("order-2", [NewEvent("OrderCancelled", {})], NO_STREAM)
    settled_log(store, 3)
    assert [e.stream_id for e in store.read_all(categories=["order"])] == ["order-1", "order-2"]
    assert [e.event_type for e in store.read_all(event_types=["PaymentCaptured", "OrderCancelled"])] == [
        "PaymentCaptured",
        "OrderCancelled",
    ]
    assert [e.stream_id for e in store.read_all(categories=["order"], event_types=["OrderCancelled"])] == ["order-2"]
    assert store.read_all(categories=[]) == []


def test_iter_all_pages_through_the_whole_log():
    store = EventStore(page_size=3)
    for n in range(10):
        store.append(f"order-{n}", events("A"), NO_STREAM)
    settled_log(store, 10)
    assert [e.stream_id for e in store.iter_all()] == [f"order-{n}" for n in range(10)]
    assert len(list(store.iter_all(after=store.read_all(limit=4)[-1].checkpoint))) == 6


def test_an_empty_log_has_the_start_as_head(store):
    assert store.head() == START
    assert store.read_all() == []
    assert START == Checkpoint(-1, 0)


def test_a_store_on_another_alias_uses_that_database():
    assert EventStore(using="default").using == "default"


def test_event_ids_are_uuids(store):
    store.append("order-1", [NewEvent("A", {}, event_id=uuid.UUID(int=7))], NO_STREAM)
    assert store.read_stream("order-1")[0].event_id == uuid.UUID(int=7)
