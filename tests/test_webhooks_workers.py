"""Webhooks in the production shape, on PostgreSQL and a Redis of the test's own: the site under
gunicorn, Celery worker processes and beat. An order posted to the gateway reaches its partner's
receiver as order.placed then order.paid, signed; a slow receiver holds up no other partner's (R27)."""

from __future__ import annotations

from contextlib import ExitStack

import pytest

from eventstore.store import EventStore
from gateway.models import Partner
from tests.flows import web_order
from tests.partners import new_partner_key
from tests.services import redis_server
from tests.serving import http, serve, session_database_url, site_environment
from tests.waiting import wait_until
from tests.webhook_receivers import FAIL, OK, SLOW, Receiver, documented_signature_check
from tests.workers import celery_beat, celery_worker
from webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from webhooks.service import add_endpoint

pytestmark = [pytest.mark.postgresql, pytest.mark.django_db(transaction=True)]

TIMEOUT = 90  # seconds for anything to arrive; a healthy run takes a few


@pytest.fixture
def env(transactional_db, settings):
    settings.WEBHOOK_ALLOW_PRIVATE = True  # the endpoints this process sets, on loopback
    with redis_server() as redis_:
        yield site_environment(
            DATABASE_URL=session_database_url(),
            CELERY_BROKER_URL=redis_.url(0),
            CACHE_URL=redis_.url(1),
            CONN_MAX_AGE="0",
            WEBHOOK_ALLOW_PRIVATE="1",
            WEBHOOK_TIMEOUT_SECONDS="2",
            WEBHOOK_RETRY_BASE_SECONDS="0.2",
            WEBHOOK_MAX_BACKOFF_SECONDS="2",
        )


def partner_with_endpoint(name: str, url: str) -> tuple[str, WebhookEndpoint]:
    key = new_partner_key(name)
    return key, add_endpoint(partner=Partner.objects.get(name=name), url=url)


def poster(site_url: str, key: str):
    def post(body: dict) -> str:
        answer = http("POST", f"{site_url}/shop/api/v1", json_body=body, headers={"Authorization": f"Api-Key {key}"})
        assert answer.status == 202, answer.body
        return answer.json()["message_id"]

    return post


def test_an_order_posted_to_the_gateway_reaches_its_partners_receiver_signed_and_in_order(env):
    with Receiver() as receiver, ExitStack() as stack:
        key, endpoint = partner_with_endpoint("acme", receiver.url)
        site = stack.enter_context(serve(env))
        stack.enter_context(celery_worker(env, "w1", concurrency=2))
        stack.enter_context(celery_beat(env))
        post = poster(site.url, key)
        post(web_order("WH-1", "tok_ok"))
        post(web_order("WH-2", "tok_decline"))
        parked = post({**web_order("WH-3", "tok_ok"), "lines": []})  # no lines: parked by orders

        def arrived():
            done = receiver.kinds_taken("WH-1") == ["order.placed", "order.paid"]
            done = done and receiver.kinds_taken("WH-2") == ["order.placed", "order.payment_declined"]
            return done and any(r.json()["type"] == "message.parked" for r in receiver.taken()) or None

        wait_until(arrived, timeout=TIMEOUT, what="the orders' and the parked message's webhooks")

    store, check = EventStore(), documented_signature_check()
    events = {e.event_type: e for e in [*store.read_stream("order-WH-1"), *store.read_stream("payment-WH-1")]}
    placed, paid = [r for r in receiver.taken() if r.json()["data"].get("order_id") == "WH-1"]
    for request, event in ((placed, events["OrderPlaced"]), (paid, events["PaymentCaptured"])):
        body = request.json()
        assert body["id"] == request.headers["Shop-Event-Id"] == str(event.event_id)
        assert body["created_at"] == event.recorded_at.isoformat()
        assert check(request.body, request.headers["Shop-Signature"], endpoint.secret)
    assert paid.json()["data"] == {"order_id": "WH-1", "status": "paid", "previous_status": "placed"}
    (told,) = [r.json() for r in receiver.taken() if r.json()["type"] == "message.parked"]
    assert told["data"]["message_id"] == parked and told["data"]["component"] == "orders"
    assert set(WebhookDelivery.objects.values_list("state", flat=True)) == {"delivered"}
    assert WebhookAttempt.objects.filter(status_code=200).count() == WebhookDelivery.objects.count() == 5


def test_a_slow_receiver_holds_up_no_other_partners_deliveries_and_gets_its_own_in_order_later(env):
    """R27 with worker processes: acme's receiver holds every request past the timeout while
    globex's orders are placed, paid and told; then it answers 500, then 2xx."""
    with Receiver(answer=SLOW) as slow, Receiver() as fine, ExitStack() as stack:
        acme_key, _ = partner_with_endpoint("acme", slow.url)
        globex_key, _ = partner_with_endpoint("globex", fine.url)
        site = stack.enter_context(serve(env))
        stack.enter_context(celery_worker(env, "w1", concurrency=3))
        stack.enter_context(celery_beat(env))
        acme, globex = poster(site.url, acme_key), poster(site.url, globex_key)
        for n in range(3):
            acme(web_order(f"A-{n}", "tok_ok"))
        wait_until(lambda: slow.holding >= 1 or None, timeout=TIMEOUT, what="acme's receiver to hold a request")
        for n in range(3):
            globex(web_order(f"G-{n}", "tok_ok"))

        def globex_told():
            return all(fine.kinds_taken(f"G-{n}") == ["order.placed", "order.paid"] for n in range(3)) or None

        wait_until(globex_told, timeout=TIMEOUT, what="globex's webhooks while acme's receiver is slow")
        assert slow.taken() == []  # acme's has answered nothing meanwhile
        timed_out = WebhookAttempt.objects.filter(error__startswith="Timed out")
        wait_until(lambda: timed_out.exists() or None, timeout=TIMEOUT, what="acme's first attempt to time out")

        slow.answer = FAIL
        slow.release()
        wait_until(
            lambda: WebhookAttempt.objects.filter(status_code=500).exists() or None, timeout=TIMEOUT, what="a 500"
        )
        slow.answer = OK

        def acme_told():
            return all(slow.kinds_taken(f"A-{n}") == ["order.placed", "order.paid"] for n in range(3)) or None

        wait_until(acme_told, timeout=TIMEOUT, what="acme's webhooks once its receiver answers")
        wait_until(
            lambda: not WebhookDelivery.objects.exclude(state="delivered").exists() or None,
            timeout=TIMEOUT,
            what="every delivery recorded as delivered",
        )
    for delivery in WebhookDelivery.objects.all():
        assert delivery.attempts == delivery.attempts_made.count() >= 1
