"""What sealing customers' personal data costs: append and rebuild with it against without, in one run.

a. Append: `EventStore().append` of one OrderPlaced per transaction (a new order stream, NO_STREAM),
   customers drawn from 500 (so most appends find the customer's key, some make it), with the
   personal-data steps installed against the same appends with them taken out of
   `eventstore.mapping`; median of three runs, alternating, after a warm-up.
b. Rebuild: every read model rebuilt (`rebuild(*registered())`) from the history of bench/rebuild.py
   (about 100,000 events; `--quick` 15,000) stored in clear and read with no personal-data step,
   then from the same history stored sealed (OrderPlaced and ShipmentRequested sealed by the write
   step itself) and opened on every read; the history loaded again before each, the two in turn,
   median of three runs each.

Goal: sealing costs under 20 % of either (ratio sealed/plain >= 0.83 in events/s). Each run is also
timed in CPU seconds of this process and its PostgreSQL backend, which a busy machine stretches
far less than the wall's: the last line gives both ratios.
"""

from __future__ import annotations

import argparse
import json
import time
import uuid
from collections.abc import Callable

import _harness as harness
import psycopg
from rebuild import history

RUNS = 3
GOAL = 1 / 1.2  # sealed/plain in events/s: sealing adds under 20 % to the time
COLUMNS = "stream_id, category, version, event_id, event_type, data, metadata, correlation_id, recorded_at"


def placed(n: int) -> dict:
    return {
        "order_id": str(uuid.uuid4()),
        "partner": "bench",
        "source": "web",
        "customer": {"email": f"c{n % 500}@example.com", "name": f"Customer {n % 500}"},
        "lines": [{"sku": f"SKU-{n % 40:03d}", "quantity": 1 + n % 3, "unit_price": "19.90"}],
        "currency": "EUR",
        "total": "39.80",
        "shipping_address": {"line1": f"{n % 90} Via Roma", "city": "Rome", "postcode": "00100", "country": "IT"},
        "payment_token": "tok_ok",
    }


class Steps:
    """The personal-data steps in eventstore.mapping, or taken out."""

    def __init__(self) -> None:
        from eventstore import mapping, personal_data

        self.mapping, self.personal_data = mapping, personal_data

    def sealing(self, on: bool) -> None:
        steps = {"write": self.personal_data.seal, "read": self.personal_data.open_sealed}
        (self.mapping.add_step if on else self.mapping.remove_step)(**steps)


def appends(count: int, steps: Steps, *, sealed: bool) -> None:
    from eventstore.store import NO_STREAM, EventStore, NewEvent

    steps.sealing(sealed)
    store = EventStore()
    for n in range(count):
        store.append(f"order-{uuid.uuid4()}", [NewEvent("OrderPlaced", placed(n))], NO_STREAM)
    steps.sealing(True)


def load(url: str, orders: int, steps: Steps, *, sealed: bool) -> int:
    """The history into an empty log by COPY; sealed: each event through the write step first."""
    from eventstore.store import NewEvent

    count = 0
    with psycopg.connect(url) as conn:
        conn.execute("TRUNCATE eventstore_event")
        conn.commit()
        for first in range(0, orders, 1_000):
            chunk = list(history(range(first, min(first + 1_000, orders))))
            # The OrderPlaced first, committed: a ShipmentRequested is sealed under its order's customer.
            for rows in ([r for r in chunk if r[4] == "OrderPlaced"], [r for r in chunk if r[4] != "OrderPlaced"]):
                if sealed:
                    news = [NewEvent(r[4], json.loads(r[5]), json.loads(r[6]), r[3]) for r in rows]
                    news = steps.personal_data.seal("bench", news)
                    rows = [(*r[:5], json.dumps(e.data), *r[6:]) for r, e in zip(rows, news, strict=True)]
                with conn.cursor() as cursor, cursor.copy(f"COPY eventstore_event ({COLUMNS}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
                conn.commit()
                count += len(rows)
    harness.vacuum_analyze(url, "eventstore_event")
    return count


def rebuild_all(steps: Steps, *, sealed: bool) -> None:
    from eventstore.projections import rebuild, registered

    steps.sealing(sealed)
    try:
        rebuild(*registered())
    finally:
        steps.sealing(True)


class Clock:
    """Wall seconds of each sample, and CPU seconds of this process and its PostgreSQL backend
    (which do all the work, one waiting on the other): on a shared machine the first stretch with
    the others' load, the second hardly, so their ratio still says what sealing costs."""

    def __init__(self) -> None:
        self.wall: dict[str, list[float]] = {}
        self.cpu: dict[str, list[float]] = {}

    def time(self, case: str, func: Callable[[], object]) -> None:
        backend = _backend_pid()
        wall, cpu = time.perf_counter(), time.process_time() + _cpu_of(backend)
        func()
        self.wall.setdefault(case, []).append(time.perf_counter() - wall)
        self.cpu.setdefault(case, []).append(time.process_time() + _cpu_of(backend) - cpu)

    def ratio(self, count: int, sealed: str, plain: str, *, cpu: bool = False) -> float:
        samples = self.cpu if cpu else self.wall
        return harness.per_second(count, samples[sealed]) / harness.per_second(count, samples[plain])


def _backend_pid() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def _cpu_of(pid: int) -> float:
    if (seconds := harness.cpu_seconds([pid]).get(pid)) is None:
        raise SystemExit(f"PostgreSQL backend {pid} is not a process of this machine: no CPU seconds to read.")
    return seconds


def main(args: argparse.Namespace) -> harness.Ratio:
    count = 1_000 if args.quick else 5_000
    orders = 3_000 if args.quick else 20_900
    clock = Clock()
    with harness.scratch_django("shop_bench_personal_data") as url:
        steps = Steps()
        appends(200, steps, sealed=True)  # warm-up
        appends(200, steps, sealed=False)
        for _ in range(RUNS):
            clock.time("append, sealed", lambda: appends(count, steps, sealed=True))
            clock.time("append, plain", lambda: appends(count, steps, sealed=False))
        # The history is loaded again before each timed rebuild, plain and sealed in turn, so both
        # meet the same load on the machine.
        events = load(url, orders, steps, sealed=False)
        rebuild_all(steps, sealed=False)  # warm-up
        for _ in range(RUNS):
            for sealed in (False, True):
                events = load(url, orders, steps, sealed=sealed)
                case = "rebuild, sealed" if sealed else "rebuild, plain"
                clock.time(case, lambda s=sealed: rebuild_all(steps, sealed=s))
        from orders.models import OrderSummary

        opened = OrderSummary.objects.filter(customer_name__startswith="Customer ").count()
    if opened != orders:
        raise SystemExit(f"the sealed rebuild read {opened:,} customers' names back, expected {orders:,}.")
    print(f"append: {count:,} OrderPlaced, one per transaction; rebuild: {events:,} events; {RUNS} runs")
    print("events/s, and events per CPU second of this process and its PostgreSQL backend:")
    sizes = {"append": count, "rebuild": events}
    harness.print_rows(
        [
            (f"{case} ({unit})", harness.throughput(sizes[case.split(",")[0]], samples[case]))
            for case in clock.wall
            for unit, samples in (("/s", clock.wall), ("/CPU s", clock.cpu))
        ]
    )
    append_ratio = clock.ratio(count, "append, sealed", "append, plain")
    rebuild_ratio = clock.ratio(events, "rebuild, sealed", "rebuild, plain")
    append_cpu = clock.ratio(count, "append, sealed", "append, plain", cpu=True)
    rebuild_cpu = clock.ratio(events, "rebuild, sealed", "rebuild, plain", cpu=True)
    met = harness.goal(append_ratio >= GOAL and rebuild_ratio >= GOAL, f">= {GOAL:.2f} both")
    return harness.Ratio(
        f"ratio sealed/plain: append = {append_ratio:.2f}, rebuild = {rebuild_ratio:.2f} ({met});"
        f" by CPU seconds: append = {append_cpu:.2f}, rebuild = {rebuild_cpu:.2f}",
        failed=False,
    )


if __name__ == "__main__":
    harness.run(main, description=__doc__)
