"""Orders settling per second while one part of the pipeline is held up (issue 17, item 1).

The production shape, small: the site under gunicorn (1 worker x 2 threads), two Celery workers
as the Procfile starts them (WORKER_CONCURRENCY's 2 pool processes each) and beat, on a scratch
PostgreSQL database and Redis (broker db 8; db 9 the cache: the rate counts and the fake payment
provider's memory). Web orders are posted at RATE a second (open loop) through each case; its rate
is the settling events (`ShipmentRequested`) recorded in its window, by the database's clock, per
second of the window.

a. No fault: a window of the load.
b. The payment provider answers in 2 s (tests/faults/slow_payments.py, token tok_slow): every
   charge holds its billing partition's runner for 2 s, so billing settles at most its
   partitions / 2 s, whatever the workers; no transaction is open meanwhile.
c. One worker of two paused with SIGSTOP for PAUSE seconds while the other keeps going. The bench
   tries to catch it inside a transaction that has written (it stops the worker's process group
   and looks in pg_stat_activity, a bounded number of tries): that transaction holds back every
   gap-safe reader of the log, on every worker, until the server ends it
   (DB_IDLE_IN_TRANSACTION_TIMEOUT; 0 leaves the server's own, off by default: the pause without
   it). Once a second it notes whether the readers are held back, and by what session. The
   partitions the paused worker was draining wait for their lease to run out.

After each window, how long until every order of the case settled (bounded).

The ratios last: (b) and (c) to (a).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import signal
import tempfile
import threading
import time
from contextlib import ExitStack
from dataclasses import dataclass

import _harness as harness
import _loadgen
import psycopg

from tests.flows import web_order
from tests.serving import site_environment
from tests.waiting import wait_until

HOST = harness.HOST
BROKER = "redis://127.0.0.1:6379/8"
CACHE = "redis://127.0.0.1:6379/9"
RATE = 5.0
SLOW_SECONDS = 2.0
SETTLED = "ShipmentRequested"
#: Sessions idle inside a transaction that has written: each holds back every gap-safe reader of the log.
#: The session whose transaction is the oldest still open that has written, when it began over 1 s ago.
OLDEST_WRITER = (
    "SELECT state, coalesce(wait_event, '') FROM pg_stat_activity"
    " WHERE backend_xid::text = pg_snapshot_xmin(pg_current_snapshot())::text AND xact_start < now() - interval '1 s'"
)
HELD_WRITER = (
    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND state = 'idle in transaction'"
    " AND backend_xid IS NOT NULL"
)


class Orders:
    """Request bytes for web orders with fresh ids, all with one card."""

    def __init__(self, port: int, key: str, prefix: str, token: str) -> None:
        self.posts = _loadgen.PartnerPosts(HOST, port, key)
        self.prefix, self.token, self.numbers = prefix, token, itertools.count()

    def request(self) -> bytes:
        body = web_order(f"{self.prefix}-{next(self.numbers)}", self.token)
        return self.posts.request(json.dumps(body).encode())


class Load:
    """Orders posted at RATE a second in a thread of their own, a second at a time until stopped."""

    def __init__(self, port: int, key: str, prefix: str, token: str) -> None:
        self.orders, self.port, self.posted = Orders(port, key, prefix, token), port, 0
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"load-{prefix}", daemon=True)

    def _run(self) -> None:
        while not self._stopped.is_set():
            result = _loadgen.open_loop(HOST, self.port, self.orders.request, rate=RATE, connections=4, seconds=1.0)
            self.posted += result.statuses[202]

    def __enter__(self) -> Load:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stopped.set()
        self._thread.join(timeout=60)


@dataclass(frozen=True)
class Case:
    name: str
    rate: float
    note: str = ""


def database_now(conn: psycopg.Connection) -> float:
    (now,) = conn.execute("SELECT extract(epoch FROM clock_timestamp())").fetchone()
    return float(now)


def settled_between(conn: psycopg.Connection, prefix: str, start: float, end: float) -> int:
    (count,) = conn.execute(
        "SELECT count(*) FROM eventstore_event WHERE event_type = %s AND data->>'order_id' LIKE %s"
        " AND recorded_at >= to_timestamp(%s) AND recorded_at < to_timestamp(%s)",
        [SETTLED, f"{prefix}-%", start, end],
    ).fetchone()
    return count


class NoFault:
    def __enter__(self) -> NoFault:
        return self

    def __exit__(self, *exc_info: object) -> None:
        pass

    def sample(self) -> None:
        pass

    def note(self) -> str:
        return ""


class Paused(NoFault):
    """The worker whose process group is `pgid` stopped for the block, then continued; meanwhile
    `sample` (once a second) sees whether the log's readers are held back, and by whom."""

    def __init__(self, conn: psycopg.Connection, pgid: int, *, tries: int) -> None:
        self.conn, self.pgid, self.tries = conn, pgid, tries
        self.caught, self.samples, self.held, self.holders = False, 0, 0, set()

    def __enter__(self) -> Paused:
        self.caught = pause_inside_a_write(self.conn, self.pgid, tries=self.tries)
        return self

    def __exit__(self, *exc_info: object) -> None:
        os.killpg(self.pgid, signal.SIGCONT)

    def sample(self) -> None:
        self.samples += 1
        if row := self.conn.execute(OLDEST_WRITER).fetchone():
            self.held += 1
            self.holders.add(f"{row[0]} ({row[1]})")

    def note(self) -> str:
        where = "inside a transaction that had written" if self.caught else "(no write transaction caught)"
        holders = f" by a session {', '.join(sorted(self.holders))}" if self.holders else ""
        return f"paused {where}; readers held back {self.held} of {self.samples} s{holders}"


def pause_inside_a_write(conn: psycopg.Connection, pgid: int, *, tries: int) -> bool:
    """Stop the process group `pgid`, trying for a moment when one of its processes is inside a
    transaction that has written; whether it was caught so. It is left stopped either way."""
    for _ in range(tries):
        os.killpg(pgid, signal.SIGSTOP)
        time.sleep(0.02)  # its statement in flight ends; its session is then idle in its transaction
        if conn.execute(HELD_WRITER).fetchone()[0]:
            time.sleep(0.1)
            if conn.execute(HELD_WRITER).fetchone()[0]:  # not the other worker's, passing through one
                return True
        os.killpg(pgid, signal.SIGCONT)
        time.sleep(random.uniform(0.0, 0.05))
    os.killpg(pgid, signal.SIGSTOP)
    return False


def run_case(conn, site, key, name: str, token: str, *, seconds: float, fault: NoFault, settle: float) -> Case:
    """Orders posted at RATE for 1 s, then through a window of `seconds` with `fault`; its rate, and
    how long after the window the case's last order settled (waited for at most `settle` s)."""
    prefix = name[0].upper()
    with Load(site.port, key, prefix, token) as load:
        time.sleep(1.0)
        with fault:
            start = database_now(conn)
            while (now := database_now(conn)) < start + seconds:
                fault.sample()
                time.sleep(min(1.0, start + seconds - now))  # the window is a span of time, not a condition
            end = database_now(conn)
    ended, posted = time.monotonic(), load.posted
    rate = settled_between(conn, prefix, start, end) / (end - start)
    try:
        wait_until(
            lambda: settled(conn, prefix) >= posted or None, timeout=settle, what=f"case {name}'s orders", interval=0.25
        )
        after = f"all {posted} settled {time.monotonic() - ended:.1f} s after the window"
    except AssertionError:
        after = f"{posted - settled(conn, prefix)} of {posted} unsettled {settle:.0f} s after the window"
    note = "; ".join(filter(None, (fault.note(), after)))
    harness.note(f"   {name}: {rate:.1f} orders/s; {note}")
    return Case(name, rate, note)


def settled(conn: psycopg.Connection, prefix: str) -> int:
    return settled_between(conn, prefix, 0, 1e12)


def warm_up(conn: psycopg.Connection, site, key: str) -> None:
    """Until the workers keep up: they take a few seconds to start, and their first tasks longer."""
    with Load(site.port, key, "W", "tok_ok") as load:
        wait_until(lambda: settled(conn, "W") or None, timeout=60, what="a first order settled", interval=0.25)
    wait_until(lambda: settled(conn, "W") >= load.posted or None, timeout=60, what="the warm-up", interval=0.25)


def main(args: argparse.Namespace) -> harness.Ratio:
    # quick: the pause still outlasts the idle-in-transaction timeout; the last case's backlog is not waited for long
    seconds, pause_seconds, tries, settle = (3.0, 7.0, 40, 3.0) if args.quick else (20.0, 45.0, 300, 120.0)
    began = time.monotonic()
    markers = tempfile.TemporaryDirectory(prefix="stall-markers-")
    idle_timeout = os.environ.get("DB_IDLE_IN_TRANSACTION_TIMEOUT")
    services = harness.pipeline_services(BROKER, CACHE)
    with markers, services as redis_env, harness.scratch_django("shop_bench_stall") as url:
        key = harness.create_partner("bench", sources="web")
        env = site_environment(
            DATABASE_URL=url,
            **redis_env,
            BILLING_PAYMENT_GATEWAY="tests.faults.slow_payments.SlowPaymentGateway",
            FAULT_MARKERS=markers.name,
            SLOW_CHARGE_SECONDS=str(SLOW_SECONDS),
            **({"DB_IDLE_IN_TRANSACTION_TIMEOUT": idle_timeout} if idle_timeout is not None else {}),
        )
        with (
            harness.gunicorn(env, ("--workers=1", "--threads=2")) as site,
            ExitStack() as stack,
            psycopg.connect(url, autocommit=True) as conn,
        ):
            harness.note(f"   site up after {time.monotonic() - began:.1f} s")
            workers, _ = harness.start_workers(stack, env, ("Sw0", "Sw1"))
            warm_up(conn, site, key)
            harness.note(f"   workers settling orders after {time.monotonic() - began:.1f} s")
            common = {"seconds": seconds, "settle": settle}
            no_fault_ = run_case(conn, site, key, "a. no fault", "tok_ok", fault=NoFault(), **common)
            pause = Paused(conn, workers[0].pid, tries=tries)
            paused_ = run_case(
                conn, site, key, f"c. one worker of two paused {pause_seconds:.0f} s", "tok_ok",
                fault=pause, seconds=pause_seconds, settle=settle,
            )  # fmt: skip
            slow = run_case(
                conn, site, key, f"b. the payment provider answers in {SLOW_SECONDS:.0f} s", "tok_slow",
                fault=NoFault(), **common,
            )  # fmt: skip
            cases = [no_fault_, slow, paused_]

    timeout = idle_timeout if idle_timeout is not None else "5, the default"
    print(
        f"orders posted at {RATE:.0f}/s; settled per second of each window (DB_IDLE_IN_TRANSACTION_TIMEOUT={timeout})"
    )
    for case in cases:
        print(f"   {case.name:<42} {case.rate:5.1f} orders/s   {case.note}")
    base = cases[0].rate
    if not base:
        return harness.Ratio(
            "ratio slow provider / no fault = 0; nothing settled with no fault: the machine is too busy", failed=True
        )
    return harness.Ratio(
        f"ratio slow provider / no fault = {cases[1].rate / base:.2f}; one worker paused / no fault ="
        f" {cases[2].rate / base:.2f}"
    )


if __name__ == "__main__":
    harness.run(main, description=__doc__, quick="3 s windows and a 7 s pause, under 60 s in all")
