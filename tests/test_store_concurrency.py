"""Concurrent writers and readers on real connections (threads, each with its own connection)."""

import threading
import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection, connections, transaction

from eventstore.models import Event
from eventstore.store import ANY, NO_STREAM, EventStore, NewEvent, TransactionOrderConflict, WrongExpectedVersion
from tests.threads import TIMEOUT, in_threads
from tests.waiting import settled_log, wait_until

pytestmark = pytest.mark.django_db(transaction=True)


def test_eight_writers_on_one_stream_write_each_version_exactly_once():
    """Each round all eight read the same head and append at once: one wins, seven are refused."""
    store = EventStore()
    store.append("order-1", [NewEvent("Opened", {})], NO_STREAM)
    writers, rounds = 8, 12
    barrier = threading.Barrier(writers, timeout=TIMEOUT)

    def writer(n: int) -> tuple[list[int], int]:
        won, lost = [], 0
        for _ in range(rounds):
            barrier.wait()
            head = store.stream_version("order-1")
            barrier.wait()  # everybody has read the same head
            try:
                result = store.append("order-1", [NewEvent("Written", {"writer": n})], head)
                won.append(result.version)
            except WrongExpectedVersion as refused:
                assert refused.expected == head and refused.actual == head + 1
                lost += 1
        return won, lost

    results = in_threads(writers, writer)
    won = [version for versions, _ in results for version in versions]
    assert sorted(won) == list(range(1, rounds + 1))  # each version written once, by one writer
    assert sum(lost for _, lost in results) == rounds * (writers - 1)
    recorded = EventStore().read_stream("order-1")
    assert [e.version for e in recorded] == list(range(rounds + 1))
    by_version = {e.version: e.data["writer"] for e in recorded[1:]}
    for n, (versions, _) in enumerate(results):
        assert all(by_version[v] == n for v in versions)


def test_writers_appending_to_one_stream_with_any_version_lose_nothing():
    """As the gateway's posts race for `shop-input`: one event or several, each stored once, in order."""
    store = EventStore()
    writers, appends = 8, 25
    barrier = threading.Barrier(writers, timeout=TIMEOUT)

    def writer(n: int) -> list[int]:
        barrier.wait()
        versions = []
        for i in range(appends):
            batch = [NewEvent("Received", {"writer": n, "append": i, "part": part}) for part in range(1 + i % 2)]
            versions.append(store.append("shop-input", batch, ANY).version)
        return versions

    in_threads(writers, writer)
    recorded = store.read_stream("shop-input")
    total = writers * sum(1 + i % 2 for i in range(appends))
    assert [e.version for e in recorded] == list(range(total))
    seen = Counter((e.data["writer"], e.data["append"], e.data["part"]) for e in recorded)
    assert len(seen) == total and set(seen.values()) == {1}
    for n in range(writers):  # each writer's events in the order it appended them
        mine = [(e.data["append"], e.data["part"]) for e in recorded if e.data["writer"] == n]
        assert mine == sorted(mine)


def test_readers_polling_during_concurrent_writes_see_every_event_once_in_stream_order():
    store = EventStore(page_size=50)
    writers, per_writer = 4, 60
    seen: list = []

    start = store.head()  # taken before any writer starts, so every event comes after it

    def reader() -> None:
        """Poll from the start until every event is seen; more than that would be a double."""
        checkpoint = start
        deadline = time.monotonic() + TIMEOUT
        while len(seen) < writers * per_writer and time.monotonic() < deadline:
            page = store.read_all(after=checkpoint)
            seen.extend(page)
            if page:
                checkpoint = page[-1].checkpoint
        seen.extend(store.read_all(after=checkpoint))

    def writer(n: int) -> None:
        for version in range(per_writer):
            expected = NO_STREAM if version == 0 else version - 1
            store.append(f"order-w{n}", [NewEvent("Step", {"n": version})], expected)

    polling = threading.Thread(target=lambda: (reader(), connections.close_all()))
    polling.start()
    try:
        in_threads(writers, writer)
    finally:
        polling.join(TIMEOUT * 2)
    assert not polling.is_alive()
    assert len(seen) == writers * per_writer
    assert len({e.event_id for e in seen}) == len(seen)
    per_stream = defaultdict(list)
    for event in seen:
        per_stream[event.stream_id].append(event.version)
    assert all(v == list(range(per_writer)) for v in per_stream.values())


def test_a_rolled_back_append_leaves_a_hole_readers_do_not_wait_for():
    store = EventStore()
    store.append("order-1", [NewEvent("A", {})], NO_STREAM)

    class Abandon(Exception):
        pass

    with pytest.raises(Abandon), transaction.atomic():
        store.append("order-2", [NewEvent("Lost", {})], NO_STREAM)
        raise Abandon
    store.append("order-3", [NewEvent("C", {})], NO_STREAM)
    log = settled_log(store, 2)
    assert [e.stream_id for e in log] == ["order-1", "order-3"]
    assert log[1].position > log[0].position + 1 or connection.vendor == "sqlite"
    assert store.read_all(after=log[0].checkpoint) == [log[1]]


@pytest.mark.postgresql
def test_transactions_committing_out_of_position_order_are_not_skipped():
    """T1 appends first (lowest position) but commits after T2 and T3: a reader polling all along
    sees all three events, once each, T1's first, and order-late's versions in order."""
    store = EventStore()
    t1_appended, t1_may_commit, stop_polling = threading.Event(), threading.Event(), threading.Event()
    polled: list = []

    def poll() -> None:
        checkpoint = store.head()
        while not stop_polling.is_set():
            page = store.read_all(after=checkpoint)
            polled.extend(page)
            checkpoint = page[-1].checkpoint if page else checkpoint
        connections.close_all()

    def t1() -> None:
        with transaction.atomic():
            store.append("order-early", [NewEvent("A", {})], NO_STREAM)
            t1_appended.set()
            assert t1_may_commit.wait(TIMEOUT)
        connections.close_all()

    reader = threading.Thread(target=poll)
    reader.start()
    with ThreadPoolExecutor(max_workers=1) as pool:
        slow = pool.submit(t1)
        assert t1_appended.wait(TIMEOUT)
        in_threads(1, lambda _: store.append("order-late", [NewEvent("B", {})], NO_STREAM))
        in_threads(1, lambda _: store.append("order-late", [NewEvent("C", {})], 0))

        # T2 and T3 have committed with higher positions; a reader checkpointing on position
        # alone would take them now and pass over T1 for ever. The store waits for T1 instead.
        late = list(Event.objects.filter(stream_id="order-late").order_by("version"))
        assert len(late) == 2 and not Event.objects.filter(stream_id="order-early").exists()
        assert store.read_all() == []
        assert polled == []

        t1_may_commit.set()
        slow.result(TIMEOUT)
    try:
        wait_until(lambda: True if len(polled) >= 3 else None, what="the poller to see three events")
    finally:
        stop_polling.set()
        reader.join(TIMEOUT)

    assert [(e.stream_id, e.version) for e in polled] == [("order-early", 0), ("order-late", 0), ("order-late", 1)]
    assert polled[0].position < late[0].position < late[1].position
    assert [e.checkpoint for e in polled] == sorted(e.checkpoint for e in polled)
    assert settled_log(store, 3) == polled


@pytest.mark.postgresql
@pytest.mark.parametrize("expected", [0, ANY], ids=["exact", "any"])
@pytest.mark.parametrize("count", [1, 2], ids=["one-event", "two-events"])
def test_an_append_that_is_not_its_transactions_first_write_cannot_order_a_stream_backwards(expected, count):
    """T1 writes early (taking a transaction id), T2 then starts order-1 and commits; T1's append
    to order-1 would sort before version 0, so it is refused, and succeeds in a new transaction."""
    store = EventStore()
    t1_wrote, t2_committed = threading.Event(), threading.Event()
    second = [NewEvent("Second", {}) for _ in range(count)]

    def t1() -> str:
        try:
            with transaction.atomic():
                store.append("audit-1", [NewEvent("Noted", {})], NO_STREAM)  # takes T1's id
                t1_wrote.set()
                assert t2_committed.wait(TIMEOUT)
                store.append("order-1", second, expected)
        except TransactionOrderConflict:
            store.append("order-1", second, expected)  # a new transaction
            return "retried"
        finally:
            connections.close_all()
        return "appended"

    with ThreadPoolExecutor(max_workers=1) as pool:
        outcome = pool.submit(t1)
        assert t1_wrote.wait(TIMEOUT)
        in_threads(1, lambda _: store.append("order-1", [NewEvent("First", {})], NO_STREAM))
        t2_committed.set()
        assert outcome.result(TIMEOUT) == "retried"

    stream = [e for e in settled_log(store, 1 + count) if e.stream_id == "order-1"]
    assert [(e.version, e.event_type) for e in stream] == [(0, "First"), *((v, "Second") for v in range(1, count + 1))]
    assert stream[0].checkpoint < stream[1].checkpoint
    assert Counter(e.stream_id for e in store.read_all()) == {"order-1": 1 + count}  # audit-1 rolled back
