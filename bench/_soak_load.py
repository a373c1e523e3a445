"""The soak's load (bench/soak.py): the posts of the run, their follow-ups, and the observer that
sees each order settle in the order summary.

New orders, and what partners send next once an order shows as settled: a cancel of about one
order in seven, a warehouse dispatch of one in ten, and every refused post again with its
Idempotency-Key after 1, 2, 4, 8 and 8 s. The open loop (bench/_loadgen.py) asks `next_request` for
each slot's bytes and hands every answer to `on_answer`; the warm-up and the tail post with
plain blocking requests.
"""

from __future__ import annotations

import heapq
import itertools
import json
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

import _harness as harness
import _loadgen
import psycopg
from tqdm import tqdm

from tests.flows import cancel, dispatched, marketplace_order, web_order
from tests.serving import Site, http
from tests.waiting import wait_until

RETRY_DELAYS = (1.0, 2.0, 4.0, 8.0, 8.0)  # seconds before each re-post of a refused post
REFUSED = (None, 503)  # no answer, or the store was unreachable: posted again with the same key
OBSERVE_SECONDS = 0.2
WARM_UP_ORDERS = 10


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
        self.requests = _loadgen.PartnerPosts(harness.HOST, port, key)
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
            data = self.requests.request(json.dumps(post.body).encode(), idempotency_key=post.key)
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
    with harness.progress("settling", len(load.orders), unit="order") as bar:
        while not load.idle() and time.monotonic() < deadline:
            observer.check()
            if post := load.next_due():
                load.post_now(site, post)
            else:
                time.sleep(0.05)
            bar.update(len(load.orders) - len(load.unsettled) - bar.n)
