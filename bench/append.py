"""Append throughput: EventStore.append against raw psycopg INSERTs, one event per transaction.

a. One writer: `EventStore().append(stream, [event], expected_version)` outside any atomic block
   (each append its own transaction), exact expected versions on a few streams, against a plain
   psycopg connection doing INSERT then commit, one row per transaction, into the same table with
   rows of the same size. Goal: store/raw >= 0.7.
b. Eight writer processes, each on its own connection and streams, through the store against
   eight raw writers; aggregate events/s. Goal: store/raw >= 0.6. The gap-safe read stays in
   force: an extra, untimed store run has a reader process polling `read_all(after=checkpoint)`
   while the writers append, and reports whether it saw every event exactly once and in order.

Each figure is the median of three runs, store and raw alternating, after a warm-up. The raw
writers use psycopg's defaults: a transaction opened by the INSERT and closed by commit() (BEGIN,
INSERT, COMMIT) and statements prepared after 5 uses. The store sends one statement, prepared,
which in autocommit is a transaction of its own; its check of the expected version rides in it.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier
from typing import Any

import _harness as harness
import psycopg
from psycopg.types.json import Jsonb

from eventstore.store import NO_STREAM, Checkpoint, EventStore, NewEvent

STREAMS_PER_WRITER = 4
WRITERS = 8
RUNS = 3
EVENT_TYPE = "OrderPlaced"
INSERT = (
    "INSERT INTO eventstore_event (stream_id, category, version, event_id, event_type, data, metadata,"
    " correlation_id, recorded_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)"
)


@dataclass(frozen=True)
class Sizes:
    single: int  # events per single-writer run
    per_writer: int  # events per writer per concurrent run
    warm_up: int


FULL = Sizes(single=5_000, per_writer=2_000, warm_up=300)
QUICK = Sizes(single=500, per_writer=150, warm_up=50)  # a smoke test (make bench-quick)


def order_data(n: int) -> dict[str, Any]:
    """A typical event body, about 170 bytes of JSON (110 more of metadata), the same for both writers."""
    return {
        "order_id": str(uuid.uuid4()),
        "customer_id": f"customer-{n % 977}",
        "lines": [{"sku": f"SKU-{n % 53:04d}", "quantity": 1 + n % 3, "unit_price": "19.90"}],
        "total": "39.80",
        "currency": "EUR",
    }


def order_metadata() -> dict[str, Any]:
    return {"user_id": "user-7", "source": "bench"}


# --- writers: each keeps its streams' heads, so every timed append states an exact version ------

_heads: dict[str, int] = defaultdict(lambda: -1)


def append_through_store(streams: list[str], count: int) -> None:
    store = EventStore()
    for n in range(count):
        stream = streams[n % len(streams)]
        expected = _heads[stream]
        event = NewEvent(EVENT_TYPE, order_data(n), order_metadata())
        _heads[stream] = store.append(stream, [event], NO_STREAM if expected < 0 else expected).version


def append_raw(conn: psycopg.Connection, streams: list[str], count: int) -> None:
    for n in range(count):
        stream = streams[n % len(streams)]
        event_id = uuid.uuid4()
        # The metadata the store would write: its own correlation id, no cause.
        metadata = {**order_metadata(), "correlation_id": str(event_id), "causation_id": None}
        version = _heads[stream] + 1
        conn.execute(
            INSERT,
            (
                stream,
                stream.split("-", 1)[0],
                version,
                event_id,
                EVENT_TYPE,
                Jsonb(order_data(n)),
                Jsonb(metadata),
                str(event_id),
                datetime.now(UTC),
            ),
        )
        conn.commit()
        _heads[stream] = version


def streams_of(category: str) -> list[str]:
    # The pid keeps each process's streams apart, and its heads valid from one run to the next.
    return [f"{category}-p{os.getpid()}.{k}" for k in range(STREAMS_PER_WRITER)]


# --- a. one writer -----------------------------------------------------------------------------


def one_writer(url: str, sizes: Sizes) -> float:
    """Print the single-writer figures; return the ratio store/raw."""
    with psycopg.connect(url) as conn:
        append_through_store(streams_of("store"), sizes.warm_up)
        append_raw(conn, streams_of("raw"), sizes.warm_up)
        samples = harness.time_interleaved(
            {
                "store": lambda: append_through_store(streams_of("store"), sizes.single),
                "raw": lambda: append_raw(conn, streams_of("raw"), sizes.single),
            },
            rounds=RUNS,
        )
    print(f"a. 1 writer, {sizes.single:,} one-event transactions per run, {RUNS} runs (events/s)")
    return store_over_raw(sizes.single, samples["store"], samples["raw"])


def store_over_raw(count: int, store_s: list[float], raw_s: list[float]) -> float:
    """Print the two throughputs; return the ratio."""
    harness.print_rows([("store", harness.throughput(count, store_s)), ("raw", harness.throughput(count, raw_s))])
    return harness.per_second(count, store_s) / harness.per_second(count, raw_s)


# --- b. eight writers --------------------------------------------------------------------------

# Each writer process's own: set by _init_writer, used by every task the process runs.
_start_together: Barrier
_raw_conn: psycopg.Connection


def _init_writer(url: str, barrier: Barrier) -> None:
    global _start_together, _raw_conn
    harness.setup_django(url)
    _raw_conn = psycopg.connect(url)
    _start_together = barrier


def _writer_task(kind: str, category: str, count: int) -> None:
    streams = streams_of(category)
    _start_together.wait()
    if kind == "store":
        append_through_store(streams, count)
    else:
        append_raw(_raw_conn, streams, count)


class WriterPool:
    """Eight processes that start each run together; the parent times from the start to the last end.

    Used as a context manager: the processes stop at the end, at once if a run failed.
    """

    def __init__(self, url: str) -> None:
        context = multiprocessing.get_context("spawn")  # no Django connection inherited through fork
        # The parent waits at the barrier too, so its clock starts when the writers do. A writer
        # blocked there cannot take a second task, so the eight tasks run in eight processes.
        self.barrier = context.Barrier(WRITERS + 1)
        self.pool = context.Pool(WRITERS, initializer=_init_writer, initargs=(url, self.barrier))

    def run(self, kind: str, category: str, per_writer: int) -> float:
        pending = self.pool.starmap_async(_writer_task, [(kind, category, per_writer)] * WRITERS)
        self.barrier.wait(timeout=120)
        start = time.perf_counter()
        pending.get(timeout=600)
        return time.perf_counter() - start

    def __enter__(self) -> WriterPool:
        return self

    def __exit__(self, error_type: type[BaseException] | None, *_: object) -> None:
        if error_type is None:
            self.pool.close()
        else:
            self.pool.terminate()  # a writer may still wait at the barrier
        self.pool.join()


@dataclass(frozen=True)
class ReaderReport:
    seen: int
    distinct: int
    streams_in_order: bool


def _read_while_written(url: str, category: str, expected: int, results: Queue) -> None:
    """Poll read_all from the start of the log until `expected` events of `category` were seen."""
    harness.setup_django(url)
    store = EventStore()
    after = Checkpoint(-1, 0)  # the start of the log
    seen: list[tuple[str, int]] = []
    deadline = time.monotonic() + 300
    while len(seen) < expected and time.monotonic() < deadline:
        page = store.read_all(after=after, categories=[category], limit=1000)
        if not page:
            time.sleep(0.01)
            continue
        seen += [(e.stream_id, e.version) for e in page]
        after = page[-1].checkpoint
    versions: dict[str, list[int]] = defaultdict(list)
    for stream, version in seen:
        versions[stream].append(version)
    in_order = all(v == list(range(len(v))) for v in versions.values())
    results.put(ReaderReport(seen=len(seen), distinct=len(set(seen)), streams_in_order=in_order))


def check_gap_safe_read(url: str, writers: WriterPool, per_writer: int) -> str:
    """An untimed store run with a reader polling beside it; the reader's verdict."""
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    expected = WRITERS * per_writer
    reader = context.Process(target=_read_while_written, args=(url, "checked", expected, results))
    reader.start()
    writers.run("store", "checked", per_writer)
    report: ReaderReport = results.get(timeout=360)
    reader.join()
    exact = report.seen == report.distinct == expected and report.streams_in_order
    verdict = "every event exactly once, each stream in order" if exact else "** MISSED OR REPEATED EVENTS **"
    return f"reader polling read_all during a store run saw {report.seen:,} of {expected:,}: {verdict}"


def eight_writers(url: str, sizes: Sizes) -> float:
    """Print the concurrent figures; return the ratio store/raw."""
    total = WRITERS * sizes.per_writer
    with WriterPool(url) as writers:
        writers.run("store", "store", sizes.warm_up)
        writers.run("raw", "raw", sizes.warm_up)
        store_s, raw_s = [], []
        for _ in range(RUNS):
            store_s.append(writers.run("store", "store", sizes.per_writer))
            raw_s.append(writers.run("raw", "raw", sizes.per_writer))
        reader_verdict = check_gap_safe_read(url, writers, sizes.per_writer)
    print(f"b. {WRITERS} writers x {sizes.per_writer:,} one-event transactions per run, {RUNS} runs (events/s)")
    ratio = store_over_raw(total, store_s, raw_s)
    print(f"   {reader_verdict}")
    return ratio


def main(args: argparse.Namespace) -> harness.Ratio:
    sizes = QUICK if args.quick else FULL
    with harness.scratch_django("shop_bench_append") as url:
        single = one_writer(url, sizes)
        concurrent = eight_writers(url, sizes)
    return harness.Ratio(
        f"ratio store/raw = {single:.2f} with 1 writer ({harness.goal(single >= 0.7, '>= 0.7')}),"
        f" {concurrent:.2f} with {WRITERS} writers ({harness.goal(concurrent >= 0.6, '>= 0.6')})"
    )


if __name__ == "__main__":
    harness.run(main, description=__doc__)
