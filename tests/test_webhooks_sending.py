"""The webhooks' sender against a real HTTP receiver on loopback (R27): down, slow past the timeout
and answering 500 in turn, then 2xx; every event delivered once it answers, in order per order,
every attempt recorded; one endpoint's dead or slow receiver holds up no other partner's; no
transaction open across a call; parked after WEBHOOK_RETRY_HOURS (an injected clock); replayed."""

from __future__ import annotations

import io
import json
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from django.core.management import call_command
from django.db import connection, connections, transaction

from eventstore import background, components, consumers
from gateway.models import Partner
from gateway.service import receive_message
from shopsite.celery import app
from tests.flows import web_order
from tests.threads import TIMEOUT
from tests.waiting import wait_until
from tests.webhook_receivers import FAIL, OK, SLOW, Receiver, documented_signature_check, queued
from webhooks import sending, transport
from webhooks.models import KnownOrder, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from webhooks.sending import Sent, TransactionHeldOpen, send_due
from webhooks.service import add_endpoint, replay_deliveries

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def quick(settings):
    """Receivers on loopback, a short timeout and quick retries."""
    settings.WEBHOOK_ALLOW_PRIVATE = True
    settings.WEBHOOK_TIMEOUT_SECONDS = 0.5
    settings.WEBHOOK_RETRY_BASE_SECONDS = 0.05
    settings.WEBHOOK_MAX_BACKOFF_SECONDS = 1.0


def endpoint_of(partner: str, url: str) -> WebhookEndpoint:
    owner, _ = Partner.objects.get_or_create(name=partner, defaults={"allowed_sources": ["web"]})
    return add_endpoint(partner=owner, url=url)


def sweeping_until(probe, *, what: str, timeout: float = 30):
    """Wait for `probe`, sweeping as beat would meanwhile (with no broker the sends run here)."""

    def step():
        if (found := probe()) is not None:
            return found
        transport.sweep()
        return None

    return wait_until(step, timeout=timeout, what=what, interval=0.02)


def attempts(**lookup) -> list[WebhookAttempt]:
    return list(WebhookAttempt.objects.filter(**lookup).order_by("at", "id"))


def test_a_receiver_down_then_slow_then_failing_gets_every_event_in_order_once_it_answers(post, quick):
    receiver = Receiver()  # not started: nothing listens on its port
    endpoint = endpoint_of("acme", receiver.url)
    orders = {"W-1": "tok_ok", "W-2": "tok_decline", "W-3": "tok_ok"}
    for order_id, token in orders.items():
        post(web_order(order_id, token))
    expected = {
        "W-1": ["order.placed", "order.paid"],
        "W-2": ["order.placed", "order.payment_declined"],
        "W-3": ["order.placed", "order.paid"],
    }
    assert WebhookDelivery.objects.count() == 6

    def failed(**lookup):
        return lambda: len(attempts(**lookup)) >= 2 or None

    sweeping_until(failed(error__startswith="ConnectError"), what="two attempts refused: the receiver is down")
    receiver.answer = SLOW
    with receiver:
        sweeping_until(failed(error__startswith="Timed out"), what="two attempts timed out: the receiver is slow")
        receiver.answer = FAIL
        receiver.release()  # the requests held so long answer 500, to a sender that has gone
        sweeping_until(failed(status_code=500), what="two attempts answered 500")
        receiver.answer = OK

        def all_delivered():
            return not WebhookDelivery.objects.exclude(state="delivered").exists() or None

        sweeping_until(all_delivered, what="every delivery to be delivered")
        wait_until(lambda: receiver.holding == 0 or None, what="the receiver to answer what it held")

    for order_id, kinds in expected.items():
        assert receiver.kinds_taken(order_id) == kinds  # each once, in order
    taken_ids = [r.json()["id"] for r in receiver.taken()]
    assert sorted(taken_ids) == sorted(str(d.event_id) for d in WebhookDelivery.objects.all())

    # Every attempt recorded: refused ones reached nothing, the others are every request received.
    every = attempts()
    assert {a.status_code for a in every} == {None, 500, 200}
    assert len([a for a in every if a.status_code == 200]) == 6
    assert len(receiver.received) == len([a for a in every if not a.error.startswith("ConnectError")])
    for delivery in WebhookDelivery.objects.all():
        assert delivery.attempts == delivery.attempts_made.count()
        assert delivery.delivered_at is not None
    assert all(a.duration_ms >= 500 for a in every if a.error.startswith("Timed out"))

    # Backing off: each failure in a row waited at least its backoff since the one before.
    policy, failures = sending.retry_policy(), [a for a in every if a.status_code != 200]
    for n, (before, after) in enumerate(zip(failures, failures[1:], strict=False), start=1):
        assert after.at - before.at >= policy.backoff(n), (n, after.at - before.at)
    endpoint.refresh_from_db()
    assert (endpoint.failures, endpoint.next_attempt_at) == (0, None)

    # Signed, with the event's id (S18's check, as documented for partners).
    check = documented_signature_check()
    for request in receiver.received:
        assert check(request.body, request.headers["Shop-Signature"], endpoint.secret)
        assert request.headers["Shop-Event-Id"] == request.json()["id"]
        assert request.headers["Content-Type"] == "application/json"


def test_a_dead_receiver_costs_one_attempt_per_backoff_not_one_per_delivery(quick, settings):
    settings.WEBHOOK_RETRY_BASE_SECONDS = 60  # the backoff lasts past the test
    endpoint = endpoint_of("acme", Receiver().url)
    for n in range(5):
        queued(endpoint, f"D-{n}", ["order.placed", "order.paid"])
    assert send_due(endpoint.pk) is Sent.FAILED
    assert len(attempts()) == 1
    assert send_due(endpoint.pk) is Sent.CAUGHT_UP  # backing off: nothing tried
    assert len(attempts()) == 1
    assert not transport.due_endpoints(at=datetime.now(UTC)).exists()
    endpoint.refresh_from_db()
    assert endpoint.failures == 1 and "ConnectError" in endpoint.last_error


def in_a_thread_of_its_own(work, *args):
    """Run work(*args) in another thread, on its own database connection; its future."""

    def run():
        try:
            return work(*args)
        finally:
            connections.close_all()

    pool = ThreadPoolExecutor(max_workers=1)
    future = pool.submit(run)
    pool.shutdown(wait=False)
    return future


def test_a_slow_receiver_holds_up_no_other_partners_deliveries(quick, settings):
    settings.WEBHOOK_TIMEOUT_SECONDS = 10  # the slow one is held past anything the test waits for
    with Receiver(answer=SLOW) as slow, Receiver() as fine:
        acme, globex = endpoint_of("acme", slow.url), endpoint_of("globex", fine.url)
        queued(acme, "A-1", ["order.placed", "order.paid"])
        queued(globex, "G-1", ["order.placed", "order.paid", "order.dispatched"])
        acme_run = in_a_thread_of_its_own(send_due, acme.pk)
        wait_until(lambda: slow.holding == 1 or None, what="acme's receiver to hold its first request")

        started = time.monotonic()
        assert send_due(globex.pk) is Sent.CAUGHT_UP
        assert time.monotonic() - started < 2
        assert fine.kinds_taken("G-1") == ["order.placed", "order.paid", "order.dispatched"]
        assert slow.holding == 1 and not acme_run.done()  # acme's was in hand the whole time

        slow.release()
        assert acme_run.result(timeout=10) is Sent.CAUGHT_UP
        assert slow.kinds_taken("A-1") == ["order.placed", "order.paid"]


def test_no_transaction_is_open_while_a_receiver_is_called(quick):
    """Each call finds the sender's connection idle, outside any transaction: on PostgreSQL as
    pg_stat_activity shows it; on SQLite another connection writes at once meanwhile."""
    postgresql = connection.vendor == "postgresql"
    if postgresql:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            (sender_pid,) = cursor.fetchone()
    seen = []

    def look() -> None:
        try:
            with connections["default"].cursor() as cursor:
                if postgresql:
                    cursor.execute("SELECT state, backend_xid FROM pg_stat_activity WHERE pid = %s", [sender_pid])
                    seen.append(cursor.fetchone())
                else:
                    started = time.monotonic()
                    KnownOrder.objects.create(order_id=f"probe-{len(seen)}", partner="x", status="placed")
                    seen.append(("idle", None) if time.monotonic() - started < 0.2 else ("blocked", None))
        finally:
            connections.close_all()

    with Receiver() as receiver:
        receiver.on_request = look
        endpoint = endpoint_of("acme", receiver.url)
        queued(endpoint, "T-1", ["order.placed", "order.paid"])
        assert send_due(endpoint.pk) is Sent.CAUGHT_UP
    assert seen == [("idle", None), ("idle", None)]


def test_a_send_inside_a_transaction_is_refused_before_any_call(quick):
    with Receiver() as receiver:
        endpoint = endpoint_of("acme", receiver.url)
        queued(endpoint, "T-1", ["order.placed"])
        with transaction.atomic(), pytest.raises(TransactionHeldOpen):
            send_due(endpoint.pk)
        assert receiver.received == []


class FakeClock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def test_a_delivery_undelivered_for_retry_hours_is_parked_at_its_next_failure_with_the_others_as_old():
    """The settings' defaults (1 s doubling, at most an hour, 25 hours), a receiver that refuses
    every connection, and a clock that jumps to each next attempt: no sleeping."""
    t0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    clock = FakeClock(t0)
    endpoint = endpoint_of("acme", "https://93.184.215.14/hook")  # a public address: S17 lets it through

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("Connection refused", request=request)

    dead = httpx.MockTransport(refuse)
    queued(endpoint, "P-1", ["order.placed", "order.paid"], at=t0)
    queued(endpoint, "P-2", ["order.placed"], at=t0)
    runs = 0
    while WebhookDelivery.objects.filter(state="pending").exists():
        assert send_due(endpoint.pk, clock=clock, transport=dead) is Sent.FAILED
        runs += 1
        endpoint.refresh_from_db()
        assert runs < 100
        if WebhookDelivery.objects.filter(state="pending").exists():
            clock.now = endpoint.next_attempt_at
    parked_after = clock.now - t0
    assert timedelta(hours=25) <= parked_after < timedelta(hours=26)
    assert set(WebhookDelivery.objects.values_list("state", flat=True)) == {"parked"}
    made = attempts()
    assert len(made) == runs  # one attempt a run: the run stops at its failure
    assert {a.delivery.order_id for a in made} == {"P-1"}  # always the oldest in line
    gaps = [b.at - a.at for a, b in zip(made, made[1:], strict=False)]
    assert max(gaps) == timedelta(hours=1) and gaps == sorted(gaps)

    # A later event is still sent once the receiver answers.
    later = queued(endpoint, "P-3", ["order.placed"], at=clock.now)[0]
    clock.now = endpoint.next_attempt_at
    ok = httpx.MockTransport(lambda request: httpx.Response(204))
    assert send_due(endpoint.pk, clock=clock, transport=ok) is Sent.CAUGHT_UP
    later.refresh_from_db()
    assert later.state == "delivered"


def test_replayed_deliveries_are_sent_again_with_the_same_event_id(quick):
    with Receiver() as receiver:
        endpoint = endpoint_of("acme", receiver.url)
        first, second = queued(endpoint, "R-1", ["order.placed", "order.paid"])
        assert send_due(endpoint.pk) is Sent.CAUGHT_UP
        WebhookDelivery.objects.filter(pk=second.pk).update(state="parked")
        assert replay_deliveries([first.pk, second.pk]) == 2  # sent on commit (no broker: here)
        wait_until(lambda: len(receiver.taken()) == 4 or None, what="both sent again")
    ids = [r.json()["id"] for r in receiver.taken()]
    assert ids == [str(first.event_id), str(second.event_id)] * 2
    assert set(WebhookDelivery.objects.values_list("state", flat=True)) == {"delivered"}


def test_a_replayed_delivery_is_tried_again_for_the_whole_retry_period(quick):
    """Staff replay a delivery parked after 25 hours: a failure then backs it off, as a new
    delivery's would, instead of parking it again at once for its age."""
    t0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    endpoint = endpoint_of("acme", "http://127.0.0.1:9/hook")
    (old,) = queued(endpoint, "RP-1", ["order.placed"], at=t0)  # written 2 days before now
    WebhookDelivery.objects.filter(pk=old.pk).update(state="parked")
    assert replay_deliveries([old.pk]) == 1  # sent at once (no broker): nothing listens on port 9
    (attempt,) = attempts()
    assert attempt.error.startswith("ConnectError")
    old.refresh_from_db()
    assert (old.state, old.attempts) == ("pending", 1)  # backing off, not parked again


def test_replaying_a_pending_delivery_changes_nothing(quick):
    endpoint = endpoint_of("acme", Receiver().url)
    (pending,) = queued(endpoint, "R-1", ["order.placed"])
    assert replay_deliveries([pending.pk]) == 0


def test_the_sender_runs_on_the_webhooks_queue_and_beat_sweeps_every_second(settings):
    # Beat's sweep of the consumer groups, every CONSUMER_SWEEP_SECONDS (1), sweeps the outbox too.
    sweep = settings.CELERY_BEAT_SCHEDULE["sweep-consumer-groups"]
    assert sweep["task"] == "eventstore.tasks.sweep_consumer_groups"
    assert sweep["schedule"] == 1.0
    assert consumers.group("webhooks").sweep_outbox is transport.sweep
    assert app.amqp.router.route({}, "webhooks.tasks.send_deliveries", args=(1,))["queue"].name == "webhooks"
    assert "webhooks" in components.queues()


def test_the_groups_sweep_sends_what_a_stopped_process_left_in_the_outbox(quick):
    """`manage.py consumers sweep` (beat's sweep, or by hand under `make run`) sends the deliveries
    nobody asked a send for: their process stopped before it could."""
    with Receiver() as receiver:
        endpoint = endpoint_of("acme", receiver.url)
        queued(endpoint, "L-1", ["order.placed", "order.paid"])  # written; no send asked for
        assert receiver.received == []
        call_command("consumers", "sweep", stdout=io.StringIO())
        wait_until(lambda: receiver.kinds_taken("L-1") == ["order.placed", "order.paid"] or None, what="both sent")


def test_a_body_is_sent_exactly_as_stored(quick):
    """The bytes signed are the bytes sent: the stored body, never serialised again."""
    seen = []
    endpoint = endpoint_of("acme", "http://127.0.0.1:9/hook")
    (delivery,) = queued(endpoint, "B-1", ["order.placed"])
    WebhookDelivery.objects.filter(pk=delivery.pk).update(body='{"id": "x",  "type":"order.placed" }')

    def keep(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200)

    assert send_due(endpoint.pk, transport=httpx.MockTransport(keep)) is Sent.CAUGHT_UP
    (request,) = seen
    assert request.content == b'{"id": "x",  "type":"order.placed" }'
    assert documented_signature_check()(request.content, request.headers["Shop-Signature"], endpoint.secret)
    assert json.loads(request.content)["id"] == "x"


def test_a_partner_is_told_of_its_messages_rejected_parked_and_unroutable(post, quick):
    """End to end in-process: the outcomes the consumer groups and the gateway record reach the
    sender's receiver as message.* webhooks, with the outcome's data."""
    with Receiver() as receiver:
        endpoint_of("acme", receiver.url)
        post(web_order("M-1", "tok_ok"))
        rejected = post(web_order("M-1", "tok_decline"))  # the order id again, with other content
        parked = post({**web_order("M-2", "tok_ok"), "lines": []})
        unroutable = post({"applies": "invoice", "source": "web", "profile": "customer", "number": 7})
        wait_until(lambda: len(receiver.taken()) >= 5 or None, what="five webhooks")
    told = {r.json()["type"]: r.json()["data"] for r in receiver.taken() if r.json()["type"].startswith("message.")}
    assert set(told) == {"message.rejected", "message.parked", "message.unroutable"}
    assert told["message.rejected"]["message_id"] == rejected
    assert told["message.rejected"]["order_id"] == "M-1" and told["message.rejected"]["component"] == "orders"
    assert "already placed" in told["message.rejected"]["reason"]
    assert told["message.parked"]["message_id"] == parked and told["message.parked"]["reason"]
    assert told["message.unroutable"] == {"message_id": unroutable, "partner": "acme", "applies": "invoice"}
    assert receiver.kinds_taken("M-1")[:2] == ["order.placed", "order.paid"]


def test_with_no_broker_the_embedded_worker_retries_after_the_backoff_with_no_sweep(quick, settings):
    """EMBEDDED_WORKER=thread (`make run`): no beat runs, yet a receiver that was down gets every
    event once it listens, as the worker comes back to the endpoint when its backoff ends."""
    settings.EMBEDDED_WORKER = "thread"
    settings.CONSUMER_DELIVERY_ON_COMMIT = settings.PROJECTIONS_ON_COMMIT = True
    receiver = Receiver()  # down
    endpoint = endpoint_of("acme", receiver.url)
    try:
        receive_message(web_order("E-1", "tok_ok"), caller=endpoint.partner)
        refused = WebhookAttempt.objects.filter(error__startswith="ConnectError")
        wait_until(lambda: refused.count() >= 2 or None, what="the worker to try twice", timeout=TIMEOUT)
        with receiver:
            wait_until(
                lambda: receiver.kinds_taken("E-1") == ["order.placed", "order.paid"] or None,
                what="both events, with no sweep",
                timeout=TIMEOUT,
            )
    finally:
        assert background.wait_until_idle(timeout=TIMEOUT), f"the worker still has {background.pending()} to do"
    assert set(WebhookDelivery.objects.values_list("state", flat=True)) == {"delivered"}
