"""Reading the whole log: EventStore.iter_all against one raw psycopg SELECT.

Loads 200,000 events (bulk SQL, not through the store: only reading is measured), then reads them
all through `EventStore().iter_all()`, page by page in the store's page size, and through a plain
psycopg SELECT of the same columns in the same (transaction_id, position) order, with psycopg's own
JSON loading. Events/s both, median of three runs alternating. Goal: store/raw >= 0.5.
"""

from __future__ import annotations

import _common
import psycopg
from tqdm import tqdm

from eventstore.store import EventStore

RUNS = 3
LOAD_CHUNK = 10_000

# Rows like those of bench/append.py: an order stream of ten events of a few types, about 170 bytes
# of data and 110 of metadata each, one flow (correlation id) per order. transaction_id is left to
# its default, so each chunk's transaction gives its events their id, as appends would.
LOAD = """
INSERT INTO eventstore_event
    (stream_id, category, version, event_id, event_type, data, metadata, correlation_id, recorded_at)
SELECT 'order-' || o, 'order', g %% 10, gen_random_uuid(),
       (ARRAY['OrderPlaced', 'PaymentCaptured', 'OrderShipped', 'OrderDelivered'])[1 + g %% 4],
       jsonb_build_object(
           'order_id', md5('order-' || o)::uuid::text, 'customer_id', 'customer-' || (o %% 977),
           'total', '39.80', 'currency', 'EUR',
           'lines', jsonb_build_array(jsonb_build_object(
               'sku', 'SKU-' || lpad((g %% 53)::text, 4, '0'), 'quantity', 1 + g %% 3, 'unit_price', '19.90'))),
       jsonb_build_object('correlation_id', flow, 'causation_id', NULL, 'user_id', 'user-7', 'source', 'bench'),
       flow, now() + g * interval '1 millisecond'
FROM generate_series(%(first)s::bigint, %(last)s::bigint) AS g,
     LATERAL (SELECT g / 10 AS o) AS stream,
     LATERAL (SELECT md5('flow-' || o)::uuid::text AS flow) AS correlation
"""
SELECT_ALL = (
    "SELECT position, transaction_id, stream_id, version, event_id, event_type, data, metadata, recorded_at"
    " FROM eventstore_event ORDER BY transaction_id, position"
)


def load_events(url: str, count: int) -> None:
    with psycopg.connect(url) as conn:
        with tqdm(total=count, desc="loading events", unit="event", unit_scale=True, leave=False) as progress:
            for first in range(0, count, LOAD_CHUNK):
                last = min(first + LOAD_CHUNK, count) - 1
                conn.execute(LOAD, {"first": first, "last": last})
                conn.commit()
                progress.update(last + 1 - first)
    # Sets hint bits and the visibility map now, so the first timed read does not pay for it.
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE eventstore_event")


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
        load_events(url, count)
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
