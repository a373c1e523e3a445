"""The pipeline: orders posted to the gateway until each is settled by the Celery workers.

The production shape on this machine: the site under gunicorn (2 workers x 2 threads), Celery
workers as the Procfile starts them (each `celery worker` serving every queue with a pool of 2
processes, WORKER_CONCURRENCY's default) and beat, on a scratch PostgreSQL database and
Redis (broker db 13; db 14 the cache, which holds the rate counts and the fake payment provider's
memory). An order is settled when its last event is in the store: `ShipmentRequested` for a
captured payment, `PaymentDeclined` for a declined one. Orders are web orders, one in ten with a
declined token (tok_flaky is left out: its settling time is the retry policy's, 1 + 2 s).

a. Throughput: N orders are posted with no worker running (the gateway stores them; the drain
   requests wait in the queues), then W workers are started and the clock runs until every order is
   settled. Orders/s for W = 1 and W = 2, each on a fresh backlog; the ratio of 2 workers to 1 is the
   run's own baseline. Goal: >= 100 orders/s with 2 workers.
b. Latency: with 2 workers running, orders posted at a fixed rate (open loop); each order's latency
   runs from when its POST was due to the recorded_at of its settling event. p50 and p95, and the
   time each step of a captured order took (input -> placed -> captured -> shipment requested).
   Goal: p95 <= 2 s at 50 orders/s.

Each run shows the CPU time per settled order of the workers (their pool processes included) and
of PostgreSQL (every process of the server: this bench is alone on it), from /proc.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import time
from contextlib import ExitStack
from datetime import datetime

import _harness as harness
import _loadgen
import psycopg

from tests.flows import web_order
from tests.serving import Site, site_environment
from tests.waiting import wait_until

HOST = harness.HOST
BROKER = "redis://127.0.0.1:6379/13"
CACHE = "redis://127.0.0.1:6379/14"
THROUGHPUT_GOAL = 100.0
P95_GOAL_S = 2.0
RATE = 50.0
SETTLED = ("ShipmentRequested", "PaymentDeclined")


class Orders:
    """Request bytes for orders with fresh ids; when each was due is kept from the load's own clock."""

    def __init__(self, port: int, key: str, prefix: str) -> None:
        self.posts = _loadgen.PartnerPosts(HOST, port, key)
        self.prefix, self.numbers, self.ids = prefix, itertools.count(), []

    def request(self) -> bytes:
        n = next(self.numbers)
        order_id = f"{self.prefix}-{n}"
        self.ids.append(order_id)
        return self.posts.request(json.dumps(web_order(order_id, "tok_decline" if n % 10 == 9 else "tok_ok")).encode())


def settled_at(url: str, prefix: str) -> dict[str, datetime]:
    """recorded_at of each settled order of this run, by order id."""
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT data->>'order_id', recorded_at FROM eventstore_event"
            " WHERE event_type = ANY(%s) AND data->>'order_id' LIKE %s",
            [list(SETTLED), f"{prefix}-%"],
        ).fetchall()
    return dict(rows)


def hops(url: str, prefix: str) -> dict[str, list[float]]:
    """Seconds between the steps of each captured order of this run, by step."""
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT correlation_id, event_type, recorded_at FROM eventstore_event WHERE correlation_id IN"
            " (SELECT correlation_id FROM eventstore_event WHERE event_type = 'OrderPlaced'"
            "  AND data->>'order_id' LIKE %s) ORDER BY position",
            [f"{prefix}-%"],
        ).fetchall()
    flows: dict[str, dict[str, datetime]] = {}
    for flow, event_type, recorded_at in rows:
        flows.setdefault(flow, {})[event_type] = recorded_at
    steps = [
        ("ShopDataReceived", "OrderPlaced"),
        ("OrderPlaced", "PaymentCaptured"),
        ("PaymentCaptured", "ShipmentRequested"),
    ]
    return {
        f"{a} -> {b}": [(flow[b] - flow[a]).total_seconds() for flow in flows.values() if a in flow and b in flow]
        for a, b in steps
    }


def wait_settled(url: str, prefix: str, count: int, *, what: str) -> None:
    """Until `count` orders of this run are settled, looking four times a second on one connection
    (the looking is not free: it runs on the same two cores as what it watches)."""
    with psycopg.connect(url, autocommit=True) as conn, harness.progress(what, count, unit="order") as bar:

        def done() -> bool | None:
            (settled,) = conn.execute(
                "SELECT count(*) FROM eventstore_event WHERE event_type = ANY(%s) AND data->>'order_id' LIKE %s",
                [list(SETTLED), f"{prefix}-%"],
            ).fetchone()
            bar.update(settled - bar.n)
            return settled >= count or None

        wait_until(done, timeout=600, what=what, interval=0.25)


def throughput(
    env: dict, url: str, site: Site, key: str, *, workers: int, count: int
) -> tuple[float, float, float, int]:
    """(orders/s, worker CPU ms per order, database CPU ms per order, orders) for a backlog of the
    orders posted in `count` / 150 s (a closed loop: how many depends on the machine), drained by
    `workers` workers."""
    prefix = f"T{workers}"
    orders = Orders(site.port, key, prefix)
    posted = _loadgen.closed_loop(HOST, site.port, orders.request, connections=8, seconds=count / 150)
    total = posted.statuses[202]
    with ExitStack() as stack:
        started, database_before, busy_before = time.perf_counter(), postgres_cpu(), harness.busy_seconds()
        running, _ = harness.start_workers(stack, env, (f"{prefix}w{n}" for n in range(workers)))
        wait_settled(url, prefix, total, what=f"{workers} worker(s)")
        seconds = time.perf_counter() - started
        cpu = sum(sum(harness.cpu_seconds(harness.process_tree(w.pid)).values()) for w in running)
        database_cpu = postgres_cpu() - database_before
        busy = (harness.busy_seconds() - busy_before) / seconds
    harness.note(f"   (machine busy {busy:.2f} of {os.cpu_count()} cores while {workers} worker(s) drained)")
    return total / seconds, cpu / total * 1000, database_cpu / total * 1000, total


def postgres_cpu() -> float:
    """CPU seconds of every PostgreSQL process on this machine: this bench is alone on the server."""
    return sum(harness.cpu_seconds(harness.postgres_pids()).values())


def latency(url: str, site: Site, key: str, *, seconds: float) -> list[float]:
    """Seconds from each order's due time to its settling event, at RATE orders/s."""
    orders = Orders(site.port, key, "L")
    # Order n is due n / RATE after the load starts (the open loop's schedule); taking the start
    # before the loop connects counts its few milliseconds of set-up in every latency.
    start = time.time()
    result = _loadgen.open_loop(HOST, site.port, orders.request, rate=RATE, connections=16, seconds=seconds)
    wait_settled(url, "L", result.statuses[202], what="settling")
    settled = settled_at(url, "L")
    for step, seconds_ in hops(url, "L").items():
        harness.note(f"   {step}: p50 {harness.median(seconds_):.2f} s, p95 {harness.p95(seconds_):.2f} s")
    return [settled[order_id].timestamp() - (start + n / RATE) for n, order_id in enumerate(orders.ids)]


def main(args: argparse.Namespace) -> harness.Ratio:
    count, latency_seconds = (200, 4.0) if args.quick else (3000, 30.0)  # quick: a smoke test
    with harness.pipeline_services(BROKER, CACHE) as services, harness.scratch_django("shop_bench_pipeline") as url:
        key = harness.create_partner("bench", sources="web")
        env = site_environment(
            DATABASE_URL=url,
            **services,
            **{name: os.environ[name] for name in ("CONSUMER_PARTITIONS",) if name in os.environ},
        )
        with harness.gunicorn(env, ("--workers=2", "--threads=2")) as site:
            rates = {w: throughput(env, url, site, key, workers=w, count=count) for w in (1, 2)}
            with ExitStack() as stack:
                harness.start_workers(stack, env, ("Lw0", "Lw1"))
                latencies = latency(url, site, key, seconds=latency_seconds)

    concurrency = harness.WORKER_CONCURRENCY
    print(f"a. a backlog of orders, settled by Celery workers ({concurrency} pool processes each)")
    for workers, (rate, cpu, database_cpu, orders) in rates.items():
        print(
            f"   {workers} worker(s), {orders:,} orders: {rate:7.1f} orders/s   CPU per order: workers {cpu:5.1f} ms,"
            f" database {database_cpu:5.1f} ms"
        )
    p50, p95 = harness.median(latencies), harness.p95(latencies)
    print(
        f"b. {RATE:.0f} orders/s for {latency_seconds:.0f} s, 2 workers:"
        f" POST to settled p50 {p50:.2f} s, p95 {p95:.2f} s"
    )
    two = rates[2][0]
    return harness.Ratio(
        f"ratio 2 workers / 1 worker = {two / rates[1][0]:.2f}; 2 workers {two:.0f} orders/s"
        f" ({harness.goal(two >= THROUGHPUT_GOAL, f'>= {THROUGHPUT_GOAL:.0f}')});"
        f" p95 {p95:.2f} s ({harness.goal(p95 <= P95_GOAL_S, f'<= {P95_GOAL_S:.0f} s')})"
    )


if __name__ == "__main__":
    harness.run(main, description=__doc__)
