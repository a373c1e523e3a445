"""The shop in production shape for fault tests: its environment on the test database and a Redis
of the suite's own, a partner that posts as partners do (again after a 503 or no answer), a load
of orders, the broker's queues as Redis holds them, and the marks the slow payment provider leaves
(`tests.faults.slow_payments`).

    env = shop_environment(database_url, f"redis://127.0.0.1:{redis_.port}", markers)
    with serve(env) as site:
        partner = Poster(site.url, key)
        message_id = partner.send(web_order("F-1", "tok_slow"), idempotency_key="F-1")
        in_hand = wait_for_slow_charge(markers, "F-1")     # pid and Celery task id of the handler
"""

from __future__ import annotations

import json
import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http.client import HTTPException
from pathlib import Path

import redis

from tests.faults.invariants import SETTLE_TIMEOUT, Order
from tests.flows import cancel, card, dispatched, marketplace_order, streams, web_order
from tests.services import RedisServer
from tests.serving import Answer, http, site_environment
from tests.waiting import wait_until
from tests.workers import Process, queues

BROKER_DB, CACHE_DB = 1, 2
#: The Redis list names of a queue's messages: kombu keeps one list per priority step.
_PRIORITY_SUFFIXES = ("", "\x06\x163", "\x06\x166", "\x06\x169")


def shop_environment(database: str, redis_url: str, markers: Path, **settings: str) -> dict[str, str]:
    """Settings of the site, workers and beat: the broker and the cache in the Redis at
    `redis_url` (databases 1 and 2), the slow payment provider leaving its marks in `markers`,
    partner keys looked up at every request (each test makes its own partner)."""
    return site_environment(
        DATABASE_URL=database,
        CELERY_BROKER_URL=f"{redis_url}/{BROKER_DB}",
        CACHE_URL=f"{redis_url}/{CACHE_DB}",
        PARTNER_KEY_CACHE_SECONDS="0",
        BILLING_PAYMENT_GATEWAY="tests.faults.slow_payments.SlowPaymentGateway",
        FAULT_MARKERS=str(markers),
        **settings,
    )


@dataclass
class Poster:
    """A partner posting to the gateway at `url` with its `key`, keeping every outcome."""

    url: str
    key: str
    outcomes: list[int | str] = field(default_factory=list)  # statuses, or "no answer"

    def post(self, body: dict, *, idempotency_key: str | None = None) -> Answer | None:
        """One post; None when the connection dropped before any answer."""
        headers = {"Authorization": f"Api-Key {self.key}"}
        if idempotency_key is not None:
            headers["Idempotency-Key"] = idempotency_key
        try:
            answer = http("POST", f"{self.url}/shop/api/v1", json_body=body, headers=headers, timeout=30)
        except (OSError, HTTPException):
            self.outcomes.append("no answer")
            return None
        self.outcomes.append(answer.status)
        return answer

    def send(self, body: dict, *, idempotency_key: str | None = None, attempts: int = 40) -> str:
        """Post until the gateway answers 202, as a partner does after a 503 (or, with an
        Idempotency-Key, after no answer), at most `attempts` times; the message id. Any other
        answer fails the test."""
        for _ in range(attempts):
            answer = self.post(body, idempotency_key=idempotency_key)
            if answer is not None and answer.status == 202:
                return answer.json()["message_id"]
            assert answer is not None or idempotency_key, "no answer to a post without a key: stored or not?"
            assert answer is None or answer.status == 503, (answer.status, answer.body[:2000])
            time.sleep(0.2)  # the partner's pause before it tries again
        raise AssertionError(f"No 202 in {attempts} posts: {self.outcomes[-attempts:]}")


def post_flow(
    partner: Poster,
    prefix: str,
    count: int,
    *,
    cancels: int = 0,
    dispatches: int = 0,
    threads: int = 4,
    keyed: bool = True,
) -> tuple[list[Order], list[str]]:
    """Post `count` orders (web and marketplace shapes, the three test cards) from `threads`
    threads at once, a cancel of the first `cancels`, then the warehouse's dispatch of the first
    `dispatches` paid orders left, once their shipment is requested. `keyed`: each post has its
    own Idempotency-Key. The orders and the accepted message ids."""
    shapes = [web_order, marketplace_order]
    paid_left = [n for n in range(cancels, count) if card(n) != "tok_decline"][:dispatches]
    orders = [Order(f"{prefix}-{n}", card(n), cancelled=n < cancels, shipped=n in paid_left) for n in range(count)]
    posts = [(shapes[n % 2](o.order_id, o.token), o.order_id) for n, o in enumerate(orders)]
    posts += [(cancel(o.order_id), f"cancel-{o.order_id}") for o in orders if o.cancelled]

    def send(post: tuple[dict, str]) -> str:
        return partner.send(post[0], idempotency_key=post[1] if keyed else None)

    with ThreadPoolExecutor(max_workers=threads) as pool:
        accepted = list(pool.map(send, posts))
        for order in (o for o in orders if o.shipped):
            wait_until(
                lambda o=order: "ShipmentRequested" in streams(o.order_id)[2] or None,
                timeout=SETTLE_TIMEOUT,
                what=f"the shipment of {order.order_id} to be requested",
            )
        dispatched_ = [(dispatched(o.order_id), f"dispatch-{o.order_id}") for o in orders if o.shipped]
        accepted += pool.map(send, dispatched_)
    return orders, accepted


def queued(redis_: RedisServer) -> dict[str, int]:
    """Messages waiting in each of the broker's queues."""
    client = redis.Redis(port=redis_.port, db=BROKER_DB)
    return {q: sum(client.llen(q + suffix) for suffix in _PRIORITY_SUFFIXES) for q in queues()}


def unacknowledged(redis_: RedisServer) -> dict[str, float]:
    """The messages delivered to a worker and not acknowledged yet: Celery task id -> seconds since
    the delivery. (kombu keeps each in its `unacked` hash as JSON [message, exchange, routing key],
    by delivery tag, and the time of the delivery in the `unacked_index` sorted set.)"""
    client = redis.Redis(port=redis_.port, db=BROKER_DB)
    delivered = dict(client.zrange("unacked_index", 0, -1, withscores=True))
    return {
        json.loads(value)[0]["headers"]["id"]: time.time() - delivered.get(tag, time.time())
        for tag, value in client.hgetall("unacked").items()
    }


@dataclass(frozen=True)
class InHand:
    """A slow charge started: the process running the handler and its Celery task."""

    order_id: str
    pid: int
    task_id: str

    def worker_pid(self) -> int:
        """The pid of the Celery worker whose pool process this is (its process group's leader)."""
        return os.getpgid(self.pid)


def wait_for_slow_charge(markers: Path, order_id: str, *, timeout: float = 60) -> InHand:
    """Wait until a handler has the `tok_slow` order in hand (its first charge is under way)."""

    def marked() -> InHand | None:
        for path in markers.glob(f"{order_id}.*.*"):
            marked_order, pid, task_id = path.name.rsplit(".", 2)
            if marked_order == order_id:
                return InHand(order_id, int(pid), task_id)
        return None

    return wait_until(marked, timeout=timeout, what=f"a handler to start charging {order_id}")


def release_slow_charge(markers: Path, order_id: str) -> None:
    """Let the slow charge of the order end now."""
    (markers / f"release-{order_id}").touch()


def stop_now(*processes: Process) -> None:
    """SIGKILL the test's workers and beat once it has checked everything: all is settled, and a
    warm shutdown would cost seconds per worker for nothing."""
    for process in processes:
        process.kill()
