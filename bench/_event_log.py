"""A log of order events bulk-loaded with SQL, the data set that bench/read.py and bench/admin_log.py
time their reads on: only reading is measured, not the store's own writes."""

from __future__ import annotations

import hashlib
import uuid

import _harness as harness
import psycopg

LOAD_CHUNK = 10_000

# Order streams of ten events of a few types, about 170 bytes of data and 110 of metadata each, one
# flow (correlation id) per order, like the events bench/append.py writes. transaction_id is left
# to its default, so each chunk's transaction gives its events their id, as appends would.
_LOAD = """
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


def flow_of_order(order: int) -> str:
    """The correlation id `load_events` gives the events of stream order-<order>."""
    return str(uuid.UUID(hashlib.md5(f"flow-{order}".encode()).hexdigest()))


def load_events(url: str, count: int, *, start: int = 0) -> None:
    """Bulk-load events `start` to `count` - 1 with SQL (the store's own writes are not measured)."""
    bar = harness.progress("loading events", count - start, unit="event", unit_scale=True)
    with psycopg.connect(url) as conn, bar:
        for first in range(start, count, LOAD_CHUNK):
            last = min(first + LOAD_CHUNK, count) - 1
            conn.execute(_LOAD, {"first": first, "last": last})
            conn.commit()
            bar.update(last + 1 - first)
    harness.vacuum_analyze(url, "eventstore_event")
