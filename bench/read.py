"""Reading the whole log: EventStore.iter_all against one raw psycopg SELECT.

Loads 200,000 events (bulk SQL, not through the store: only reading is measured), then reads them
all through `EventStore().iter_all()`, page by page in the store's page size, and through a plain
psycopg SELECT of the same columns in the same (transaction_id, position) order, with psycopg's own
JSON loading. Events/s both, median of three runs alternating. Goal: store/raw >= 0.5.
"""

from __future__ import annotations

import argparse

import _event_log
import _harness as harness
import psycopg

from eventstore.store import EventStore

RUNS = 3
SELECT_ALL = (
    "SELECT position, transaction_id, stream_id, version, event_id, event_type, data, metadata, recorded_at"
    " FROM eventstore_event ORDER BY transaction_id, position"
)


def read_through_store() -> int:
    return sum(1 for _ in EventStore().iter_all())


def read_raw(conn: psycopg.Connection) -> int:
    # Iterating the cursor converts every row, like fetchall, without holding 200,000 at once
    # (the store holds one page), so the garbage collector does not tilt the comparison.
    with conn.cursor() as cursor:
        cursor.execute(SELECT_ALL)
        count = sum(1 for _ in cursor)
    conn.rollback()
    return count


def check_count(what: str, read: int, expected: int) -> None:
    if read != expected:
        raise SystemExit(f"{what} read {read:,} events, expected {expected:,}.")


def main(args: argparse.Namespace) -> harness.Ratio:
    count = 50_000 if args.quick else 200_000
    with harness.scratch_django("shop_bench_read") as url:
        _event_log.load_events(url, count)
        with psycopg.connect(url) as conn:
            check_count("store (warm-up)", read_through_store(), count)
            check_count("raw (warm-up)", read_raw(conn), count)
            samples = harness.time_interleaved(
                {
                    "store": lambda: check_count("store", read_through_store(), count),
                    "raw": lambda: check_count("raw", read_raw(conn), count),
                },
                rounds=RUNS,
            )
    print(f"read the whole log of {count:,} events, {RUNS} runs (events/s)")
    harness.print_rows(
        [
            (f"store iter_all, pages of {EventStore().page_size:,}", harness.throughput(count, samples["store"])),
            ("raw SELECT of all rows", harness.throughput(count, samples["raw"])),
        ]
    )
    ratio = harness.per_second(count, samples["store"]) / harness.per_second(count, samples["raw"])
    return harness.Ratio(f"ratio store/raw = {ratio:.2f} ({harness.goal(ratio >= 0.5, '>= 0.5')})")


if __name__ == "__main__":
    harness.run(main, description=__doc__)
