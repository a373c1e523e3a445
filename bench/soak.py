"""Soak: orders at a fixed rate through the whole pipeline for minutes, with a fault every minute.

The production shape of bench/pipeline.py (the site under gunicorn, 2 workers x 2 threads; 2
Celery workers of 2 pool processes each, serving every queue; beat) on a scratch database
(--database, made and dropped on the PostgreSQL server of DATABASE_URL, as every benchmark) and a
Redis of its own on a free port (tests/services.py; broker db 0, cache db 1), so restarting it
never touches the machine's Redis.

Load (open loop, bench/_loadgen.py): --rate posts a second for --minutes. Each slot carries a
follow-up that is due, else a new order: one in three of the marketplace shape, the others web;
tok_decline one in ten, tok_flaky one in ten, else tok_ok. Follow-ups are what partners send next:
a cancel of about one order in seven once it has settled, a warehouse dispatch of one order in ten
(a paid one) once its shipment is requested, and a refused post again. Every post carries an
Idempotency-Key; a 503 or no answer at all is posted again with the same key after 1, 2, 4, 8 and
8 s, as a partner would, and counted (a post refused six times would count as not accepted).

Faults, every --fault-every seconds from the end of the first interval, in turn: a whole Celery
worker SIGKILLed (a new one started in its place); Redis restarted with nothing kept; every
connection to the soak's database terminated (pg_terminate_backend; the soak's own observer
excepted). Each is printed as it happens.

Afterwards the soak waits (at most --settle-timeout) until every stored input has its effect and
every projector has caught up, then counts from the store:
- lost: a post answered 202 whose input is not in `shop-input`, or an order whose streams lack an
  event the rules give for what was stored (the order, its cancel, its dispatch);
- doubled: an input stored twice (two with one Idempotency-Key), an event type twice in a stream
  (each event of the order, payment and shipment streams happens at most once);
- wrong: an event the rules do not give, or in another order;
and, with everything stopped, checks that every order summary shows its order's status and every
read model equals a rebuild from zero (tests/faults/invariants.py). It exits with 1 if any count
is not 0, a message is parked, a read model disagrees, or the site answered anything but 202 and
503 (a 500 above all).

Figures: posts and answers; the faults; POST answer latency (202s); POST to settled (the last event
of the order's flow: ShipmentRequested, or PaymentDeclined), from when the first POST was due to
the event's recorded_at and to when the order summary showed it (polled every 0.2 s): p50, p95, p99
and max, tok_flaky orders left out (their time is the retry policy's 1 + 2 s); the same for the
orders posted after each fault; the memory (RSS) of every worker after the warm-up and at the end.
The ratio last: the p95 of POST to shown of the orders posted after the first fault over that of
the fault-free first interval, the run's own baseline.
"""

from __future__ import annotations

import argparse
import heapq
import io
import itertools
import json
import sys
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import _common
import _loadgen
import psycopg
from tqdm import tqdm

from tests.flows import cancel, dispatched, marketplace_order, web_order
from tests.services import RedisServer, redis_server
from tests.serving import Site, http, serve, site_environment
from tests.waiting import wait_until
from tests.workers import Process, celery_beat, celery_worker

HOST = "127.0.0.1"
WORKERS = 2
CONCURRENCY = 2  # pool processes per worker, the Procfile's default (WORKER_CONCURRENCY)
CONNECTIONS = 16  # the load's keep-alive connections to gunicorn
RETRY_DELAYS = (1.0, 2.0, 4.0, 8.0, 8.0)  # seconds before each re-post of a refused post
REFUSED = (None, 503)  # no answer, or the store was unreachable: posted again with the same key
OBSERVE_SECONDS = 0.2
WARM_UP_ORDERS = 10
FAULTS = ("worker killed", "Redis restarted", "database connections terminated")
STREAMS = ("order", "payment", "shipment")
MIB = 1024 * 1024


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="how long the load runs (default 10)")
    parser.add_argument("--rate", type=float, default=20.0, help="posts a second, follow-ups included (default 20)")
    parser.add_argument("--fault-every", type=float, default=60.0, help="seconds between faults (default 60)")
    parser.add_argument("--settle-timeout", type=float, default=300.0, help="seconds to wait for the end to settle")
    parser.add_argument("--database", default="shop_bench_soak", help="the scratch database's name")
    parser.add_argument("--json", type=Path, help="also write the counts and figures to this file")
    parser.add_argument("--logs", type=Path, help="keep every process's whole log in this folder")
    parser.add_argument("--quick", action="store_true", help="1 minute, a fault every 20 s (a smoke test)")
    args = parser.parse_args()
    if args.quick:
        args.minutes, args.fault_every = 1.0, 20.0
    return args


# --- the load --------------------------------------------------------------------------------------


@dataclass(eq=False)
class Order:
    order_id: str
    token: str
    cancels: bool  # a cancel follows once it has settled
    dispatches: bool  # a warehouse dispatch follows once its shipment is requested
    warm_up: bool = False
    post: Post | None = None
    cancel: Post | None = None
    dispatch: Post | None = None
    recorded_at: float | None = None  # the settling event's recorded_at, as the order summary has it
    shown_at: float | None = None  # when the order summary first showed it settled


@dataclass(eq=False)
class Post:
    kind: str  # order, cancel, dispatch
    order: Order = field(repr=False)
    body: dict = field(repr=False)
    attempts: int = 0
    first_due: float | None = None  # wall-clock time its first attempt was due
    message_id: str | None = None  # from the 202

    @property
    def key(self) -> str:
        return f"{self.kind}-{self.order.order_id}"


class Load:
    """The posts of the run: new orders, and their follow-ups as they fall due; every answer.

    `next_request` and `on_answer` run in the load generator's thread, `observe` in the
    observer's, the tail in the main thread: one lock keeps them apart.
    """

    def __init__(self, port: int, key: str) -> None:
        self.key = key
        self.head = (
            f"POST /shop/api/v1 HTTP/1.1\r\nHost: {HOST}:{port}\r\nAuthorization: Api-Key {key}\r\n"
            "Content-Type: application/json\r\n"
        ).encode()
        self.lock = threading.Lock()
        self.orders: list[Order] = []
        self.posts: list[Post] = []
        self.statuses: Counter[int | None] = Counter()  # answers by status; None: no answer
        self.answered: list[tuple[float, int | None]] = []  # (when the attempt was due, status)
        self.unsettled: dict[str, Order] = {}  # accepted, not yet shown settled
        self.in_flight: dict[bytes, Post] = {}
        self._due: list[tuple[float, int, Post]] = []  # follow-ups: (monotonic time due, tie, post)
        self._ties = itertools.count()
        self.bar: tqdm | None = None

    def new_order(self, *, warm_up: bool = False) -> Post:
        n = len(self.orders)
        token = "tok_ok" if warm_up else "tok_decline" if n % 10 == 9 else "tok_flaky" if n % 10 == 4 else "tok_ok"
        order = Order(
            f"{'warm' if warm_up else 'soak'}-{n}",
            token,
            cancels=not warm_up and (n % 10 == 3 or n % 20 == 19),  # a paid one, and half the declined
            dispatches=not warm_up and n % 10 == 6,
            warm_up=warm_up,
        )
        shape = marketplace_order if n % 3 == 0 else web_order
        order.post = self._post("order", order, shape(order.order_id, token))
        self.orders.append(order)
        return order.post

    def _post(self, kind: str, order: Order, body: dict) -> Post:
        post = Post(kind, order, body)
        self.posts.append(post)
        return post

    def next_request(self) -> bytes:
        """The bytes of the next post: a follow-up that is due, else a new order."""
        with self.lock:
            post = heapq.heappop(self._due)[2] if self._due and self._due[0][0] <= time.monotonic() else None
            post = post or self.new_order()
            post.attempts += 1
            body = json.dumps(post.body).encode()
            data = b"%sIdempotency-Key: %s\r\nContent-Length: %d\r\n\r\n%s" % (
                self.head,
                post.key.encode(),
                len(body),
                body,
            )
            self.in_flight[data] = post
            return data

    def on_answer(self, data: bytes, status: int | None, body: bytes, seconds: float) -> None:
        with self.lock:
            self._answered(self.in_flight.pop(data), status, body, due=time.time() - seconds)
        if self.bar is not None:
            self.bar.update()

    def next_due(self) -> Post | None:
        """A follow-up that is due (for the tail, after the open loop), or None."""
        with self.lock:
            if self._due and self._due[0][0] <= time.monotonic():
                post = heapq.heappop(self._due)[2]
                post.attempts += 1
                return post
            return None

    def post_now(self, site: Site, post: Post) -> None:
        """Post it with a plain blocking request (the warm-up, the tail)."""
        due = time.time()
        headers = {"Authorization": f"Api-Key {self.key}", "Idempotency-Key": post.key}
        try:
            answer = http("POST", f"{site.url}/shop/api/v1", json_body=post.body, headers=headers, timeout=30)
            status, body = answer.status, answer.body
        except OSError:  # no answer: refused below like the load generator's, and posted again
            status, body = None, b""
        with self.lock:
            self._answered(post, status, body, due=due)

    def _answered(self, post: Post, status: int | None, body: bytes, *, due: float) -> None:
        if post.first_due is None:
            post.first_due = due
        self.statuses[status] += 1
        self.answered.append((due, status))
        if status == 202:
            post.message_id = json.loads(body)["message_id"]
            if post.kind == "order":
                self.unsettled[post.order.order_id] = post.order
        elif status in REFUSED and post.attempts <= len(RETRY_DELAYS):
            self._schedule(post, RETRY_DELAYS[post.attempts - 1])

    def _schedule(self, post: Post, delay: float) -> None:
        heapq.heappush(self._due, (time.monotonic() + delay, next(self._ties), post))

    def observe(self, conn: psycopg.Connection, table: str) -> None:
        """Note the accepted orders the order summary shows settled, and queue their follow-ups."""
        with self.lock:
            waiting = list(self.unsettled)
        if not waiting:
            return
        rows = conn.execute(
            f"SELECT order_id, status, updated_at FROM {table} WHERE order_id = ANY(%s)"
            " AND (status = 'payment_declined' OR shipment_status = 'requested')",
            [waiting],
        ).fetchall()
        now = time.time()
        with self.lock:
            for order_id, status, updated_at in rows:
                order = self.unsettled.pop(order_id)
                order.recorded_at, order.shown_at = updated_at.timestamp(), now
                if order.cancels:
                    order.cancel = self._post("cancel", order, cancel(order_id))
                    self._schedule(order.cancel, 0)
                elif order.dispatches and status != "payment_declined":
                    order.dispatch = self._post("dispatch", order, dispatched(order_id))
                    self._schedule(order.dispatch, 0)

    def idle(self) -> bool:
        """Nothing due, in flight, or waiting to settle."""
        with self.lock:
            return not (self._due or self.in_flight or self.unsettled)


class Observer(threading.Thread):
    """Looks at the order summary every OBSERVE_SECONDS, on a connection of its own."""

    def __init__(self, url: str, load: Load, table: str) -> None:
        super().__init__(name="soak-observer", daemon=True)
        self.conn = psycopg.connect(url, autocommit=True)
        self.backend_pid = self.conn.info.backend_pid  # spared by the database fault: it is the soak's eye
        self.load, self.table = load, table
        self.stopping = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            while not self.stopping.wait(OBSERVE_SECONDS):
                self.load.observe(self.conn, self.table)
        except BaseException as error:
            self.error = error  # raised again in the main thread by `check`
            raise
        finally:
            self.conn.close()

    def check(self) -> None:
        if self.error is not None:
            raise RuntimeError("the soak's observer failed") from self.error

    def stop(self) -> None:
        self.stopping.set()
        self.join(timeout=10)
        self.check()


# --- the processes, their memory, the faults ---------------------------------------------------------


def group_pids(pgid: int) -> list[int]:
    """The processes of process group `pgid`: a worker started in a session of its own, with its pool."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rpartition(")")[2].split()
            except (FileNotFoundError, ProcessLookupError):
                continue  # ended meanwhile
            if int(fields[2]) == pgid:
                pids.append(int(entry.name))
    return pids


def rss(pids: list[int]) -> int:
    """Bytes of resident memory of these processes (VmRSS; a process that ended counts 0)."""
    total = 0
    for pid in pids:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except (FileNotFoundError, ProcessLookupError):
            continue  # ended meanwhile
        total += sum(int(line.split()[1]) * 1024 for line in status.splitlines() if line.startswith("VmRSS:"))
    return total


@dataclass
class Worker:
    name: str
    process: Process

    @property
    def pid(self) -> int:
        return self.process.popen.pid

    @property
    def alive(self) -> bool:
        return self.process.popen.poll() is None

    def label(self) -> str:
        return f"celery {self.name} (pid {self.pid})"


class Memory:
    """RSS of each process at start and at end, by label, in the order first seen."""

    def __init__(self) -> None:
        self.rows: dict[str, list] = {}

    def start(self, label: str, value: int) -> None:
        self.rows.setdefault(label, [None, None, ""])[0] = value

    def end(self, label: str, value: int, note: str = "") -> None:
        row = self.rows.setdefault(label, [None, None, ""])
        row[1], row[2] = value, note

    def sample(self, site: Site, workers: list[Worker], beat: Process, record: Callable[[str, int], None]) -> None:
        """Every gunicorn worker, every live Celery worker (main process and pool) and beat."""
        for pid in Path(f"/proc/{site.pid}/task/{site.pid}/children").read_text().split():
            record(f"gunicorn worker (pid {pid})", rss([int(pid)]))
        for worker in workers:
            if worker.alive:
                record(worker.label(), rss(group_pids(worker.pid)))
        record(f"celery beat (pid {beat.popen.pid})", rss(group_pids(beat.popen.pid)))

    def lines(self) -> list[str]:
        width = max(len(label) for label in self.rows)
        out = [f"   {'process'.ljust(width)}  start MiB  end MiB"]
        for label, (start, end, note) in self.rows.items():
            shown = [f"{v / MIB:9.1f}" if v is not None else "        -" for v in (start, end)]
            out.append(f"   {label.ljust(width)}  {shown[0]}  {shown[1]}  {note}".rstrip())
        return out


@dataclass
class Fault:
    offset: float  # seconds after the load started
    kind: str
    what: str


class Faults(threading.Thread):
    """One fault every `every` seconds of the load, the kinds in turn."""

    def __init__(
        self,
        *,
        stack: ExitStack,
        env: dict[str, str],
        workers: list[Worker],
        redis_: RedisServer,
        database: str,
        spare: list[int],
        memory: Memory,
        every: float,
        seconds: float,
    ) -> None:
        super().__init__(name="soak-faults", daemon=True)
        self.stack, self.env, self.workers, self.redis = stack, env, workers, redis_
        self.database, self.spare, self.memory = database, spare, memory
        self.every, self.seconds = every, seconds
        self.done: list[Fault] = []
        self.numbers = itertools.count(len(workers))
        self.stopping = threading.Event()
        self.error: BaseException | None = None
        self.started = 0.0

    def run(self) -> None:
        self.started = time.monotonic()
        try:
            for n in itertools.count(1):
                if n * self.every >= self.seconds or self.stopping.wait(
                    self.started + n * self.every - time.monotonic()
                ):
                    return
                kind = FAULTS[(n - 1) % len(FAULTS)]
                offset = time.monotonic() - self.started
                what = {FAULTS[0]: self.kill_worker, FAULTS[1]: self.restart_redis, FAULTS[2]: self.terminate}[kind]()
                self.done.append(Fault(offset, kind, what))
                tqdm.write(f"   fault at {offset:6.1f} s: {kind}: {what}", file=sys.stderr)
        except BaseException as error:
            self.error = error  # raised again in the main thread by `stop`
            raise

    def stop(self) -> None:
        self.stopping.set()
        self.join(timeout=120)
        if self.error is not None:
            raise RuntimeError("a fault could not be injected") from self.error

    def kill_worker(self) -> str:
        """SIGKILL to the longest-running worker's whole process group; a new worker in its place."""
        victim = next(w for w in self.workers if w.alive)
        label, pids = victim.label(), group_pids(victim.pid)
        at = time.monotonic() - self.started
        self.memory.end(label, rss(pids), note=f"SIGKILLed at {at:.0f} s")
        victim.process.kill()
        name = f"w{next(self.numbers)}"
        replacement = Worker(name, self.stack.enter_context(celery_worker(self.env, name, concurrency=CONCURRENCY)))
        self.workers.append(replacement)
        # Its memory "at start" once its pool is up and has taken some work, as the others' after
        # the warm-up; within the interval, so the next fault comes on time.
        deadline = time.monotonic() + self.every * 0.8
        while len(group_pids(replacement.pid)) <= CONCURRENCY and time.monotonic() < deadline:
            self.stopping.wait(0.2)
        self.stopping.wait(max(0.0, min(3.0, deadline - time.monotonic())))
        self.memory.start(replacement.label(), rss(group_pids(replacement.pid)))
        return f"{victim.name} (pid {victim.pid}, {len(pids)} processes) SIGKILLed; {replacement.name} started"

    def restart_redis(self) -> str:
        start = time.perf_counter()
        self.redis.restart()
        return f"port {self.redis.port}, answering again after {time.perf_counter() - start:.2f} s, empty"

    def terminate(self) -> str:
        """pg_terminate_backend of every connection to the soak's database but the observer's."""
        with psycopg.connect(_common.database_url("postgres"), autocommit=True) as conn:
            # Materialized first: in one WHERE, PostgreSQL may call pg_terminate_backend on rows
            # before the other conditions have ruled them out (other databases', its own).
            (count,) = conn.execute(
                "WITH victims AS MATERIALIZED (SELECT pid FROM pg_stat_activity WHERE datname = %s"
                " AND pid <> ALL(%s) AND pid <> pg_backend_pid())"
                " SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM victims",
                [self.database, self.spare],
            ).fetchone()
        return f"{count} backends terminated"


# --- counting --------------------------------------------------------------------------------------


def expected_streams(order: Order, *, cancelled: bool, dispatched_: bool) -> dict[str, list[str]]:
    """The event types the rules give the order's streams, by category, in order (a cancel comes
    once the order has settled, a dispatch only to an order not cancelled)."""
    if order.token == "tok_decline":
        payment, shipment = ["PaymentDeclined"], ["ShipmentCancelled"] if cancelled else []
    elif cancelled:
        payment, shipment = ["PaymentCaptured", "PaymentRefunded"], ["ShipmentRequested", "ShipmentCancelled"]
    else:
        payment = ["PaymentCaptured"]
        shipment = ["ShipmentRequested", "ShipmentDispatched"] if dispatched_ else ["ShipmentRequested"]
    return {
        "order": ["OrderPlaced", *(["OrderCancelled"] if cancelled else [])],
        "payment": payment,
        "shipment": shipment,
    }


@dataclass
class Outcome:
    lost: int = 0
    doubled: int = 0
    wrong: int = 0
    examples: list[str] = field(default_factory=list)

    def note(self, text: str) -> None:
        if len(self.examples) < 10:
            self.examples.append(text)


def count(url: str, load: Load) -> Outcome:
    """Lost, doubled and wrong, from the store (see the module's docstring).

    Two queries for the whole run: the fault suite's per-order check (tests/flows.py) reads three
    streams an order, 36,000 reads for a ten-minute soak, and says whether, not how many."""
    with psycopg.connect(url) as conn:
        inputs = conn.execute(
            "SELECT event_id::text, metadata->>'idempotency_key' FROM eventstore_event WHERE stream_id = 'shop-input'"
        ).fetchall()
        events = conn.execute(
            "SELECT stream_id, event_type FROM eventstore_event WHERE category = ANY(%s) ORDER BY stream_id, version",
            [list(STREAMS)],
        ).fetchall()
    with load.lock:
        orders, posts = list(load.orders), list(load.posts)
    outcome = Outcome()
    stored = Counter(key for _, key in inputs if key is not None)
    message_ids = {event_id for event_id, _ in inputs}
    for key, times in stored.items():
        if times > 1:
            outcome.doubled += times - 1
            outcome.note(f"input {key} stored {times} times")
    for post in posts:
        if post.message_id is not None and post.message_id not in message_ids:
            outcome.lost += 1
            outcome.note(f"{post.key} answered 202 ({post.message_id}) and not stored")
    streams: dict[str, list[str]] = defaultdict(list)
    for stream_id, event_type in events:
        streams[stream_id].append(event_type)
    for order in orders:
        if not stored[order.post.key]:
            continue  # never stored: nothing is owed (a stray stream of it is counted below)
        want = expected_streams(
            order,
            cancelled=order.cancel is not None and stored[order.cancel.key] > 0,
            dispatched_=order.dispatch is not None and stored[order.dispatch.key] > 0,
        )
        missing = False
        for category, types in want.items():
            got = streams.pop(f"{category}-{order.order_id}", [])
            for event_type, times in Counter(got).items():
                if times > 1:
                    outcome.doubled += times - 1
                    outcome.note(f"{event_type} {times} times in {category}-{order.order_id}")
            if set(types) - set(got):
                missing = True
                outcome.note(f"{category}-{order.order_id}: {got}, the rules give {types}")
            elif set(got) - set(types) or list(dict.fromkeys(got)) != types:
                outcome.wrong += 1
                outcome.note(f"{category}-{order.order_id}: {got}, the rules give {types}")
        outcome.lost += missing
    for stream_id, got in streams.items():  # streams of orders the soak never had stored
        outcome.wrong += 1
        outcome.note(f"{stream_id}: {got}, of no stored order")
    return outcome


def wait_settled(url: str, load: Load, *, timeout: float) -> Outcome:
    """Until every stored input has its effect and every projector has caught up, or `timeout`."""
    from eventstore.projections import pending_projectors, registered

    last: list[Outcome] = []

    def settled() -> bool | None:
        last[:] = [count(url, load)]
        return (last[0].lost == 0 and not pending_projectors(registered())) or None

    try:
        wait_until(settled, timeout=timeout, what="everything to settle", interval=2)
    except AssertionError as gave_up:
        print(f"   {gave_up} What is missing then counts as lost.", file=sys.stderr)
    return last[0]


def read_models_disagree(load: Load) -> str:
    """Empty when every order summary shows its order's status and every read model equals a
    rebuild from zero (the fault suite's check, tests/faults/invariants.py), else what differs.
    Nothing else may run meanwhile."""
    from tests.faults.invariants import Order as Expected
    from tests.faults.invariants import assert_read_models_equal_rebuild

    def accepted(post: Post | None) -> bool:
        return post is not None and post.message_id is not None

    expected = [
        Expected(o.order_id, o.token, cancelled=accepted(o.cancel), shipped=accepted(o.dispatch))
        for o in load.orders
        if accepted(o.post)
    ]
    try:
        assert_read_models_equal_rebuild(expected)
    except AssertionError as disagreement:
        return str(disagreement)[:3000]  # printed, and the run fails
    return ""


# --- the run ---------------------------------------------------------------------------------------


def warm_up(load: Load, site: Site) -> None:
    """A few orders through every process, so the memory at start is that of a working worker."""
    for _ in range(WARM_UP_ORDERS):
        post = load.new_order(warm_up=True)
        post.attempts += 1
        load.post_now(site, post)
    wait_until(
        lambda: not load.unsettled or None, timeout=120, what="the warm-up orders to settle", interval=OBSERVE_SECONDS
    )


def tail(load: Load, site: Site, observer: Observer, *, timeout: float) -> None:
    """After the open loop: the follow-ups and re-posts still due, until every order has settled."""
    deadline = time.monotonic() + timeout
    with tqdm(total=len(load.orders), desc="settling", unit="order", leave=False) as bar:
        while not load.idle() and time.monotonic() < deadline:
            observer.check()
            if post := load.next_due():
                load.post_now(site, post)
            else:
                time.sleep(0.05)
            bar.update(len(load.orders) - len(load.unsettled) - bar.n)


def seconds_between(orders: list[Order], attribute: str) -> list[float]:
    """Seconds from each order's first due POST to `attribute` (recorded_at, shown_at)."""
    return [getattr(o, attribute) - o.post.first_due for o in orders if getattr(o, attribute) is not None]


def spread(values: list[float], unit: float = 1.0) -> str:
    p = [_common.percentile(values, f) / unit for f in (0.5, 0.95, 0.99)]
    return f"p50 {p[0]:7.2f}  p95 {p[1]:7.2f}  p99 {p[2]:7.2f}  max {max(values, default=float('nan')) / unit:7.2f}"


def main() -> None:
    args = parse_args()
    seconds = args.minutes * 60
    memory = Memory()
    # The payment provider keeps its memory in a Redis of its own: restarting the shop's Redis
    # empties the broker and the cache, not the provider outside the shop.
    with redis_server() as redis_, redis_server() as provider, _common.scratch_django(args.database) as url:
        from django.core.management import call_command
        from django.db import connections

        from eventstore.models import ParkedMessage
        from orders.models import OrderSummary

        out = io.StringIO()
        call_command("create_partner", "soak", sources="web,marketplace,warehouse", rate=100_000_000, stdout=out)
        key = out.getvalue().strip().splitlines()[-1]
        connections.close_all()  # the soak's own connection is not one the database fault should meet
        env = site_environment(
            DATABASE_URL=url,
            CELERY_BROKER_URL=redis_.url(0),
            CACHE_URL=redis_.url(1),
            FAKE_PAYMENT_PROVIDER_CACHE_URL=provider.url(0),
        )
        with ExitStack() as stack:
            site = stack.enter_context(serve(env, options=("--workers=2", "--threads=2"), ready_path="/healthz"))
            workers = [
                Worker(f"w{n}", stack.enter_context(celery_worker(env, f"w{n}", concurrency=CONCURRENCY)))
                for n in range(WORKERS)
            ]
            beat = stack.enter_context(celery_beat(env))
            load = Load(site.port, key)
            observer = Observer(url, load, OrderSummary._meta.db_table)
            observer.start()
            stack.callback(observer.stopping.set)  # also when the run fails
            warm_up(load, site)
            memory.sample(site, workers, beat, memory.start)
            faults = Faults(
                stack=stack,
                env=env,
                workers=workers,
                redis_=redis_,
                database=args.database,
                spare=[observer.backend_pid],
                memory=memory,
                every=args.fault_every,
                seconds=seconds,
            )
            stack.callback(faults.stopping.set)
            with tqdm(total=round(args.rate * seconds), desc="soak", unit="post", leave=False) as load.bar:
                started = time.time()
                faults.start()
                result = _loadgen.open_loop(
                    HOST,
                    site.port,
                    load.next_request,
                    rate=args.rate,
                    connections=CONNECTIONS,
                    seconds=seconds,
                    on_answer=load.on_answer,
                )
            load.bar = None
            faults.stop()
            settle_started = time.monotonic()
            tail(load, site, observer, timeout=args.settle_timeout)
            observer.stop()
            outcome = wait_settled(
                url, load, timeout=max(10.0, args.settle_timeout - (time.monotonic() - settle_started))
            )
            settle_seconds = time.monotonic() - settle_started
            memory.sample(site, workers, beat, memory.end)
            parked = list(ParkedMessage.objects.values_list("group", "event_type", "reason")[:5])
            parked_count = ParkedMessage.objects.count()
            connections.close_all()
            processes = {"gunicorn": site, **{p.name: p for p in (*(w.process for w in workers), beat)}}
            if args.logs:
                args.logs.mkdir(parents=True, exist_ok=True)
                for name, process in processes.items():
                    (args.logs / f"{name}.log").write_text(process.log_tail(size=1 << 40))
            if outcome.lost or outcome.doubled or outcome.wrong or parked_count or set(load.statuses) - {202, *REFUSED}:
                for name, process in processes.items():
                    sys.stderr.write(f"--- {name} log (tail) ---\n{process.log_tail()}\n")
        disagreement = read_models_disagree(load)

    figures = report(args, load, result, faults.done, outcome, parked_count, parked, disagreement, memory,
                     started=started, settle_seconds=settle_seconds)  # fmt: skip
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
    if figures["failed"]:
        sys.exit(1)


def report(
    args: argparse.Namespace,
    load: Load,
    result: _loadgen.LoadResult,
    faults: list[Fault],
    outcome: Outcome,
    parked_count: int,
    parked: list[tuple],
    disagreement: str,
    memory: Memory,
    *,
    started: float,
    settle_seconds: float,
) -> dict:
    """Print the figures; the same, as a dict."""
    posts = [p for p in load.posts if not p.order.warm_up]
    kinds = Counter(p.kind for p in posts)
    accepted = Counter(p.kind for p in posts if p.message_id is not None)
    reposts = sum(max(0, p.attempts - 1) for p in posts)
    not_accepted = [p for p in posts if p.message_id is None]
    answers = ", ".join(f"{status or 'no answer'} x{n:,}" for status, n in sorted(load.statuses.items(), key=str))
    unexpected = sum(n for status, n in load.statuses.items() if status not in (202, *REFUSED))
    server_errors = sum(
        n for status, n in load.statuses.items() if status is not None and status >= 500 and status != 503
    )
    timed = [o for o in load.orders if not o.warm_up and o.token != "tok_flaky" and o.post.first_due is not None]

    def offset(order: Order) -> float:
        return order.post.first_due - started

    baseline = [o for o in timed if offset(o) < args.fault_every]
    faulty = [o for o in timed if offset(o) >= args.fault_every]
    print(
        f"soak: {args.minutes:g} min at {args.rate:g} posts/s, a fault every {args.fault_every:g} s;"
        f" gunicorn 2 workers x 2 threads, {WORKERS} Celery workers x {CONCURRENCY} processes, beat"
    )
    print(
        f"   posts: {kinds['order']:,} orders, {kinds['cancel']:,} cancels, {kinds['dispatch']:,} dispatches;"
        f" {reposts:,} re-posts of refused ones (same Idempotency-Key)"
    )
    print(f"   answers: {answers}")
    print(
        f"   accepted (202): orders {accepted['order']:,}/{kinds['order']:,}, cancels {accepted['cancel']:,}/"
        f"{kinds['cancel']:,}, dispatches {accepted['dispatch']:,}/{kinds['dispatch']:,};"
        f" not accepted after {len(RETRY_DELAYS) + 1} tries: {len(not_accepted)}"
    )
    print("   faults:")
    for fault in faults:
        print(f"      at {fault.offset:6.1f} s  {fault.kind}: {fault.what}")
    print(f"   settled {settle_seconds:.1f} s after the load ended")
    print(f"lost {outcome.lost}, doubled {outcome.doubled}, wrong {outcome.wrong}; parked {parked_count}")
    for example in outcome.examples:
        print(f"   {example}")
    for group, event_type, reason in parked:
        print(f"   parked in {group}: {event_type}: {reason[:200]}")
    print(f"read models show every order's status and equal a rebuild from zero: {disagreement or 'yes'}")
    print(f"site errors (5xx but 503): {server_errors}; other unexpected answers: {unexpected - server_errors}")
    print(f"POST answer (202), ms:           {spread(result.latencies, 0.001)}")
    print(f"POST to settled in the store, s: {spread(seconds_between(timed, 'recorded_at'))}")
    print(f"POST to shown settled, s:        {spread(seconds_between(timed, 'shown_at'))}")
    print(f"   (orders with tok_ok and tok_decline: {len(timed):,}; shown = the order summary, polled every"
          f" {OBSERVE_SECONDS} s)")  # fmt: skip
    print("orders posted after each fault, until the next: POST to shown settled, s")
    bounds = [
        (f.offset, faults[i + 1].offset if i + 1 < len(faults) else float("inf"), f) for i, f in enumerate(faults)
    ]
    windows = []
    for start, end, fault in bounds:
        inside = [o for o in timed if start <= offset(o) < end]
        refused = sum(1 for due, status in load.answered if status in REFUSED and start <= due - started < end)
        shown = seconds_between(inside, "shown_at")
        windows.append({"kind": fault.kind, "at": fault.offset, "orders": len(inside), "refused": refused,
                        "p95": _common.percentile(shown, 0.95), "max": max(shown, default=float("nan"))})  # fmt: skip
        print(
            f"   {fault.offset:6.1f} s {fault.kind:32} {len(inside):5,} orders, {refused:3} refused   {spread(shown)}"
        )
    print("memory (RSS):")
    for line in memory.lines():
        print(line)
    base, with_faults = seconds_between(baseline, "shown_at"), seconds_between(faulty, "shown_at")
    base_p95, faulty_p95 = _common.percentile(base, 0.95), _common.percentile(with_faults, 0.95)
    offered = kinds["order"] + kinds["cancel"] + kinds["dispatch"]
    failed = bool(outcome.lost or outcome.doubled or outcome.wrong or parked_count or disagreement or unexpected)
    print(
        f"ratio POST-to-shown p95 with faults / fault-free first {args.fault_every:g} s ="
        f" {faulty_p95 / base_p95:.2f} ({faulty_p95:.2f} s vs {base_p95:.2f} s);"
        f" accepted/offered posts = {sum(accepted.values()) / offered:.4f};"
        f" lost {outcome.lost}, doubled {outcome.doubled}: {'PASS' if not failed else '** FAIL **'}"
    )
    return {
        "failed": failed,
        "lost": outcome.lost,
        "doubled": outcome.doubled,
        "wrong": outcome.wrong,
        "parked": parked_count,
        "read_models_disagree": disagreement,
        "server_errors": server_errors,
        "unexpected_answers": unexpected,
        "statuses": {str(status): n for status, n in load.statuses.items()},
        "posts": dict(kinds),
        "accepted": dict(accepted),
        "not_accepted": len(not_accepted),
        "faults": [{"at": f.offset, "kind": f.kind, "what": f.what} for f in faults],
        "after_each_fault": windows,
        "answer_ms": {f"p{round(f * 100)}": _common.percentile(result.latencies, f) * 1000 for f in (0.5, 0.95, 0.99)},
        "shown_s": {f"p{round(f * 100)}": _common.percentile(base + with_faults, f) for f in (0.5, 0.95, 0.99)},
        "baseline_p95_s": base_p95,
        "faulty_p95_s": faulty_p95,
        "memory_mib": {label: [v and v / MIB for v in row[:2]] for label, row in memory.rows.items()},
    }


if __name__ == "__main__":
    _common.run_main(main)
