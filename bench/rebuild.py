"""Rebuilding every read model from 100,000 events, against reading the same events raw.

Loads a shop's history of about 100,000 domain events (orders placed, paid or declined, shipped,
some cancelled and refunded: the components' event types and data shapes) with COPY, then
rebuilds the six read models one projector after the other, as `manage.py projections rebuild
--all` does, and reads the same events with one raw psycopg SELECT (JSON decoded) in the same run.
Events/s is the log's events over the whole rebuild's time; median of three runs, alternating.
Goal: >= 20,000 events/s.
"""

from __future__ import annotations

import argparse
import json
import uuid
from datetime import UTC, datetime, timedelta

import _harness as harness
import psycopg

RUNS = 3
GOAL = 20_000.0
TOKENS = ("ok", "ok", "ok", "ok", "ok", "ok", "ok", "ok", "decline", "cancel")
SELECT_ALL = (
    "SELECT position, transaction_id, stream_id, version, event_id, event_type, data, metadata, recorded_at"
    " FROM eventstore_event ORDER BY transaction_id, position"
)


def history(orders: range):
    """Rows (stream_id, category, version, event_id, event_type, data, metadata, correlation_id,
    recorded_at) of these orders' flows, about 5 minutes apart (16,000 orders span 58 days)."""
    start = datetime(2026, 9, 1, tzinfo=UTC)
    for n in orders:
        order_id, flow, at = f"B-{n}", str(uuid.uuid4()), start + timedelta(seconds=311 * n)
        lines = [{"sku": f"SKU-{(n + k) % 40:03d}", "quantity": 1 + k, "unit_price": "19.90"} for k in range(1 + n % 3)]
        total = f"{sum(19.90 * line['quantity'] for line in lines):.2f}"
        fate = TOKENS[n % len(TOKENS)]
        events = [
            ("order", "OrderPlaced", {
                "order_id": order_id, "partner": "bench", "source": "web",
                "customer": {"email": f"c{n % 5000}@example.com", "name": f"Customer {n % 5000}"},
                "lines": lines, "currency": "EUR", "total": total,
                "shipping_address": {"line1": "1 Via Roma", "city": "Rome", "postcode": "00100", "country": "IT"},
                "payment_token": "tok_" + fate,
            }),
        ]  # fmt: skip
        if fate == "decline":
            events.append(("payment", "PaymentDeclined", {"order_id": order_id, "reason": "card declined"}))
        else:
            paid = {"order_id": order_id, "amount": total, "currency": "EUR", "provider_ref": f"ch_{n}"}
            address = {"line1": "1 Via Roma", "city": "Rome", "postcode": "00100", "country": "IT"}
            events += [
                ("payment", "PaymentCaptured", paid),
                ("shipment", "ShipmentRequested", {"order_id": order_id, "address": address, "lines": lines}),
            ]
            if fate == "cancel":
                events += [
                    (
                        "order",
                        "OrderCancelled",
                        {"order_id": order_id, "reason": "changed mind", "requested_by": "customer"},
                    ),
                    ("payment", "PaymentRefunded", paid),
                    ("shipment", "ShipmentCancelled", {"order_id": order_id, "reason": "changed mind"}),
                ]
            else:
                dispatched = {"order_id": order_id, "carrier": "DHL", "tracking_number": f"T{n}"}
                events += [
                    ("shipment", "ShipmentDispatched", dispatched),
                    ("shipment", "ShipmentDelivered", {"order_id": order_id}),
                ]
        versions: dict[str, int] = {}
        for step, (category, event_type, data) in enumerate(events):
            stream_id = f"{category}-{order_id}"
            versions[stream_id] = version = versions.get(stream_id, -1) + 1
            metadata = {"correlation_id": flow, "causation_id": None}
            recorded_at = at + timedelta(seconds=30 * step)
            yield (stream_id, category, version, uuid.uuid4(), event_type, json.dumps(data), json.dumps(metadata),
                   flow, recorded_at)  # fmt: skip


def load(url: str, orders: int) -> int:
    """COPY the history in (the store's own writes are not measured); how many events."""
    count = 0
    columns = "stream_id, category, version, event_id, event_type, data, metadata, correlation_id, recorded_at"
    with psycopg.connect(url) as conn, harness.progress("loading orders", orders, unit="order") as bar:
        for first in range(0, orders, 2_000):
            chunk = range(first, min(first + 2_000, orders))
            with conn.cursor() as cursor, cursor.copy(f"COPY eventstore_event ({columns}) FROM STDIN") as copy:
                for row in history(chunk):
                    copy.write_row(row)
                    count += 1
            conn.commit()  # a transaction per chunk, as appends would give them their transaction ids
            bar.update(len(chunk))
    harness.vacuum_analyze(url, "eventstore_event")
    return count


def rebuild_all() -> None:
    from eventstore.projections import rebuild, registered  # Django is set up by then

    rebuild(*registered())


def read_raw(url: str) -> int:
    with psycopg.connect(url) as conn, conn.cursor() as cursor:
        cursor.execute(SELECT_ALL)
        return sum(1 for _ in cursor)


def main(args: argparse.Namespace) -> harness.Ratio:
    orders = 3_000 if args.quick else 20_900  # about 100,000 events
    with harness.scratch_django("shop_bench_rebuild") as url:
        count = load(url, orders)
        rebuild_all()  # warm-up
        samples = harness.time_interleaved({"rebuild": rebuild_all, "raw": lambda: read_raw(url)}, rounds=RUNS)
        from orders.models import OrderSummary

        summaries = OrderSummary.objects.count()
    if summaries != orders:
        raise SystemExit(f"the rebuild left {summaries:,} order summaries, expected {orders:,}.")
    print(f"rebuild every read model (6 projectors) from {count:,} events, {RUNS} runs (events/s)")
    harness.print_rows(
        [
            ("rebuild --all", harness.throughput(count, samples["rebuild"])),
            ("raw SELECT of the log", harness.throughput(count, samples["raw"])),
        ]
    )
    rate = harness.per_second(count, samples["rebuild"])
    ratio = rate / harness.per_second(count, samples["raw"])
    goal = harness.goal(rate >= GOAL, f">= {GOAL:,.0f}")
    return harness.Ratio(f"ratio rebuild/raw = {ratio:.2f}; rebuild {rate:,.0f} events/s ({goal})")


if __name__ == "__main__":
    harness.run(main, description=__doc__)
