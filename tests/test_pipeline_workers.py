"""The production shape on PostgreSQL and Redis: the site under gunicorn, three Celery worker
processes and beat. Orders posted to the gateway reach the status the rules give, each effect
once, also when a worker is SIGKILLed midway and another is started; the workers' projector runs
bring the read models to the same state as a rebuild from zero."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack

import pytest
import redis

from eventstore.models import ParkedMessage
from eventstore.projections import rebuild, registered
from eventstore.store import EventStore
from orders.models import OrderSummary, SalesByDay
from tests.flows import (
    cancel,
    card,
    dispatched,
    marketplace_order,
    read_model_tables,
    shows_what_the_rules_give,
    streams,
    web_order,
)
from tests.partners import new_partner_key
from tests.serving import http, serve, session_database_url, site_environment
from tests.waiting import wait_until
from tests.workers import celery_beat, celery_worker

pytestmark = [pytest.mark.postgresql, pytest.mark.django_db(transaction=True)]

BROKER = "redis://127.0.0.1:6379/11"
CACHE = "redis://127.0.0.1:6379/12"  # the fake payment provider's memory, shared by the workers
ORDERS, CANCELS, DISPATCHES = 300, 30, 30
SETTLE_TIMEOUT = 240  # seconds for everything to settle; a healthy run takes a fraction of it

store = EventStore()


@pytest.fixture
def env(transactional_db):
    for url in (BROKER, CACHE):
        redis.Redis.from_url(url).flushdb()
    url = session_database_url()
    yield site_environment(
        DATABASE_URL=url, CELERY_BROKER_URL=BROKER, CACHE_URL=CACHE, CONN_MAX_AGE="0", PARTNER_KEY_CACHE_SECONDS="5"
    )
    for url in (BROKER, CACHE):
        redis.Redis.from_url(url).flushdb()


@pytest.fixture
def key(env):
    return new_partner_key("acme", rate_limit_per_minute=100_000)


@pytest.mark.parametrize("kill_a_worker", [False, True], ids=["steady", "worker-killed"])
def test_orders_through_three_workers_reach_the_status_the_rules_give(env, key, kill_a_worker):
    run = "K" if kill_a_worker else "S"
    orders = [(f"{run}-{n}", card(n), web_order if n % 2 else marketplace_order) for n in range(ORDERS)]
    cancelled = {order_id for order_id, _, _ in orders[:CANCELS]}
    paid_rest = [o for o, token, _ in orders[CANCELS:] if token != "tok_decline"]
    shipped = set(paid_rest[:DISPATCHES])
    auth = {"Authorization": f"Api-Key {key}"}

    def post(body: dict) -> None:
        answer = http("POST", f"{site.url}/shop/api/v1", json_body=body, headers=auth, timeout=30)
        assert answer.status == 202, answer.body

    with ExitStack() as stack:
        site = stack.enter_context(serve(env, options=("--workers=2", "--threads=2")))
        workers = [stack.enter_context(celery_worker(env, f"w{n}")) for n in range(3)]
        stack.enter_context(celery_beat(env))
        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(lambda o: post(o[2](o[0], o[1])), orders[: ORDERS // 2]))
            if kill_a_worker:
                workers[0].kill()
                stack.enter_context(celery_worker(env, "w3"))
            list(pool.map(lambda o: post(o[2](o[0], o[1])), orders[ORDERS // 2 :]))
            list(pool.map(post, [cancel(order_id) for order_id in sorted(cancelled)]))
            for order_id in shipped:  # the warehouse dispatches what was requested of it
                wait_until(lambda o=order_id: "ShipmentRequested" in streams(o)[2] or None, timeout=SETTLE_TIMEOUT)
            list(pool.map(post, [dispatched(order_id) for order_id in sorted(shipped)]))

        def settled() -> bool | None:
            pending = [
                order_id
                for order_id, token, _ in orders
                if not shows_what_the_rules_give(
                    order_id, token, cancelled=order_id in cancelled, shipped=order_id in shipped
                )
            ]
            return not pending or None

        started = time.monotonic()
        wait_until(settled, timeout=SETTLE_TIMEOUT, what="every order to settle")
        settle_seconds = time.monotonic() - started

        def status(order_id: str, token: str) -> str:
            if order_id in cancelled:
                return "cancelled"
            return "payment_declined" if token == "tok_decline" else "dispatched" if order_id in shipped else "paid"

        def projected() -> bool | None:  # the workers' projector runs, on commit and from beat
            shown = dict(OrderSummary.objects.values_list("order_id", "status"))
            return all(shown.get(order_id) == status(order_id, token) for order_id, token, _ in orders) or None

        wait_until(projected, timeout=SETTLE_TIMEOUT, what="the order summaries to show every status")

    # Nothing applied twice by the competing projector runs: the read models equal a rebuild.
    followed = read_model_tables()
    rebuild(*registered())
    assert read_model_tables() == followed
    assert sum(row.orders for row in SalesByDay.objects.all()) == ORDERS

    assert not ParkedMessage.objects.exists(), list(ParkedMessage.objects.values("group", "reason")[:5])
    for order_id, _, _ in orders:  # each effect once: no doubled event anywhere in the flow
        order, payment, shipment = streams(order_id)
        assert order.count("OrderPlaced") == 1
        assert payment.count("PaymentCaptured") <= 1 and payment.count("PaymentRefunded") <= 1
        assert shipment.count("ShipmentRequested") <= 1
    input_count = len(store.read_stream("shop-input"))
    assert input_count == ORDERS + CANCELS + len(shipped)
    print(f"settled {settle_seconds:.1f} s after the last post")  # noqa: T201 - shown with -s


def test_the_partitions_split_the_orders_among_workers(settings):
    """A sanity check of the spread the workers compete on: 300 flows over 4 partitions."""
    from eventstore.consumers import partition_of

    settings.CONSUMER_PARTITIONS = 4
    counts = [0] * 4
    for n in range(300):
        counts[partition_of(f"00000000-0000-4000-8000-{n:012d}")] += 1
    assert min(counts) > 40
