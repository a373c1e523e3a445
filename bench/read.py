"""Reading the whole log: EventStore.iter_all against one raw psycopg SELECT.

Loads 200,000 events (bulk SQL, not through the store: only reading is measured), then reads them
all through `EventStore().iter_all()`, page by page in the store's page size, and through a plain
psycopg SELECT of the same columns in the same (transaction_id, position) order, with psycopg's own
JSON loading. Events/s both, median of three runs alternating. Goal: store/raw >= 0.5.
"""

from __future__ import annotations

import _common
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


def main() -> None:
    args = _common.parse_args(__doc__)
    count = 50_000 if args.quick else 200_000
    with _common.scratch_django("shop_bench_read") as url:
        _common.load_events(url, count)
        with psycopg.connect(url) as conn:
            check_count("store (warm-up)", read_through_store(), count)
            check_count("raw (warm-up)", read_raw(conn), count)
            store_s, raw_s = [], []
            for _ in range(RUNS):
                store_s.append(_common.timed(lambda: check_count("store", read_through_store(), count)))
                raw_s.append(_common.timed(lambda: check_count("raw", read_raw(conn), count)))
    print(f"read the whole log of {count:,} events, {RUNS} runs (events/s)")
    store_label = f"store iter_all, pages of {EventStore().page_size:,}"
    print(_common.throughput_line(store_label, count, store_s, width=len(store_label)))
    print(_common.throughput_line("raw SELECT of all rows", count, raw_s, width=len(store_label)))
    ratio = _common.per_second(count, store_s) / _common.per_second(count, raw_s)
    print(f"ratio store/raw = {ratio:.2f} (goal >= 0.5, {_common.goal_note(ratio >= 0.5)})")


if __name__ == "__main__":
    _common.run_main(main)
