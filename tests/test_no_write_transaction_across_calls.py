"""No transaction is open across a call to the outside world (docs/design.md 3.1): the payment
provider is charged and refunded, and webhook receivers are called, while the calling connection
is outside any transaction, and on PostgreSQL no session of the database has a transaction that
has written. Such a transaction would hold back every gap-safe reader of the log for as long as
the call takes (on SQLite: hold the write lock).

Every path that calls out is driven here as it runs: billing's reactions delivered in-process,
drained as a worker drains them, retried after the provider was unavailable, run again after a
conflict; the webhooks' sender on commit and from the sweep.
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.db import connection, connections, transaction

from billing.domain import Charge, Refund
from billing.payment_gateway import FakePaymentGateway, PaymentGatewayUnavailable
from billing.reactions import GROUP as BILLING
from eventstore import consumers
from eventstore.consumers import handling
from eventstore.models import Delivery, ParkedMessage
from eventstore.store import EventStore, WrongExpectedVersion
from gateway.models import Partner
from orders.reactions import GROUP as ORDERS
from tests.flows import cancel, dispatched, placed, streams, web_order
from tests.waiting import wait_until
from tests.webhook_receivers import Receiver
from webhooks import transport
from webhooks.models import WebhookDelivery
from webhooks.service import add_endpoint

pytestmark = pytest.mark.django_db(transaction=True)


@dataclass(frozen=True)
class Seen:
    """The caller's database state at the moment of one outside call."""

    what: str
    in_transaction: bool  # the calling connection is inside an atomic block
    writers: tuple  # PostgreSQL: other sessions of the database whose transaction has written

    @property
    def clean(self) -> bool:
        return not self.in_transaction and not self.writers


def look(what: str, caller) -> Seen:
    """`caller`: the calling thread's connection (only its flag is read, from any thread)."""
    writers: tuple = ()
    if connection.vendor == "postgresql":
        # From a connection of its own: the caller's would be put in use by the look itself.
        probe = connections.create_connection("default")
        try:
            with probe.cursor() as cursor:
                cursor.execute(
                    "SELECT pid, state, backend_xid::text FROM pg_stat_activity"
                    " WHERE datname = current_database() AND backend_xid IS NOT NULL AND pid <> pg_backend_pid()"
                )
                writers = tuple(cursor.fetchall())
        finally:
            probe.close()
    return Seen(what, caller.in_atomic_block, writers)


calls: list[Seen] = []
_calls_lock = threading.Lock()


class RecordingGateway(FakePaymentGateway):
    """The fake provider, recording the caller's state as each call arrives."""

    def charge(self, *, idempotency_key: str, amount: Decimal, currency: str, token: str) -> Charge:
        self._record(f"charge {idempotency_key}")
        return super().charge(idempotency_key=idempotency_key, amount=amount, currency=currency, token=token)

    def refund(self, *, idempotency_key: str, charge_ref: str, amount: Decimal, currency: str) -> Refund:
        self._record(f"refund {idempotency_key}")
        return super().refund(idempotency_key=idempotency_key, charge_ref=charge_ref, amount=amount, currency=currency)

    def _record(self, what: str) -> None:
        seen = look(what, connections["default"])
        with _calls_lock:
            calls.append(seen)


@pytest.fixture
def provider(settings):
    settings.BILLING_PAYMENT_GATEWAY = f"{__name__}.RecordingGateway"
    calls.clear()
    yield calls
    calls.clear()


def made(what: str) -> list[Seen]:
    return [seen for seen in calls if seen.what == what]


def test_a_charge_and_its_refund_are_asked_with_no_transaction_open(post, provider):
    post(web_order("N-1", "tok_ok"))
    post(cancel("N-1"))
    assert streams("N-1")[1] == ["PaymentCaptured", "PaymentRefunded"]
    assert [seen.what for seen in provider] == ["charge N-1", "refund refund-N-1"]
    assert all(seen.clean for seen in provider), provider


def test_a_charge_retried_after_the_provider_was_unavailable_is_asked_outside_each_time(post, provider):
    post(web_order("N-2", "tok_flaky"))  # unavailable twice: two transient failures, then captured
    assert streams("N-2")[1] == ["PaymentCaptured"]
    assert len(made("charge N-2")) == 3
    assert all(seen.clean for seen in provider), provider


def test_a_refund_of_a_returned_order_is_asked_with_no_transaction_open(post, provider):
    post(web_order("N-3", "tok_ok"))
    post(dispatched("N-3"))
    post({"applies": "shipment", "source": "warehouse", "profile": "warehouse", "order_id": "N-3",
          "status": "delivered"})  # fmt: skip
    post({"applies": "return", "source": "web", "profile": "customer", "order_id": "N-3", "reason": "too small"})
    post({"applies": "return", "source": "warehouse", "profile": "warehouse", "order_id": "N-3",
          "status": "received"})  # fmt: skip
    assert streams("N-3")[1] == ["PaymentCaptured", "PaymentRefunded"]
    assert [seen.what for seen in provider] == ["charge N-3", "refund refund-N-3"]
    assert all(seen.clean for seen in provider), provider


def test_a_charge_drained_as_a_worker_drains_it_is_asked_with_no_transaction_open(post, provider, settings):
    settings.CONSUMER_DELIVERY_ON_COMMIT = False  # no group has handled it: the drains below do
    post(web_order("N-4", "tok_ok"))
    for group_ in (ORDERS, BILLING):
        for partition in range(consumers.partitions.partitions()):
            consumers.drain(group_, partition)
    assert streams("N-4")[1] == ["PaymentCaptured"]
    assert [seen.what for seen in provider] == ["charge N-4"]
    assert all(seen.clean for seen in provider), provider


def test_a_conflict_after_the_charge_runs_the_handler_again_without_asking_again(post, provider, monkeypatch):
    track, conflicts = handling._track, []

    def conflict_once(group_, event_id):
        if group_ is BILLING and not conflicts:  # as if another delivery had written first
            conflicts.append(event_id)
            raise WrongExpectedVersion("payment-N-5", 0, 1)
        track(group_, event_id)

    monkeypatch.setattr(handling, "_track", conflict_once)
    post(web_order("N-5", "tok_ok"))
    assert conflicts and streams("N-5")[1] == ["PaymentCaptured"]
    assert [seen.what for seen in provider] == ["charge N-5"]  # once, though its handler ran three times
    assert all(seen.clean for seen in provider), provider


def test_an_unavailable_provider_is_a_transient_failure_of_the_message_as_before(provider, settings, monkeypatch):
    def unavailable(self, **kwargs):
        raise PaymentGatewayUnavailable("down")

    monkeypatch.setattr(RecordingGateway, "charge", unavailable)
    settings.CONSUMER_DELIVERY_ON_COMMIT = False
    placed("N-6")
    [event] = EventStore().read_stream("order-N-6")
    assert consumers.handle(BILLING, event) is not None  # a backoff: tried again later
    delivery = Delivery.objects.get(group="billing", event_id=event.event_id)
    assert (delivery.failures, delivery.last_error) == (1, "PaymentGatewayUnavailable: down")
    assert not EventStore().read_stream("payment-N-6") and not ParkedMessage.objects.exists()


def test_webhooks_are_sent_on_commit_and_from_the_sweep_with_no_transaction_open(post, settings):
    settings.WEBHOOK_ALLOW_PRIVATE, settings.WEBHOOK_RETRY_BASE_SECONDS = True, 0.05
    sender = connections["default"]  # with no broker and inline, the posting thread sends
    seen: list[Seen] = []
    with Receiver() as receiver:
        receiver.on_request = lambda: seen.append(look("webhook", sender))
        add_endpoint(partner=Partner.objects.get(name="acme"), url=receiver.url)
        post(web_order("N-7", "tok_ok"))  # sent on the commit of each delivery
        assert receiver.kinds_taken("N-7") == ["order.placed", "order.paid"]
        receiver.answer = "fail"
        post(cancel("N-7"))  # refused: left for the sweep
        receiver.answer = "ok"

        def sent() -> bool | None:
            if receiver.kinds_taken("N-7")[-1:] == ["order.cancelled"]:
                return True
            transport.sweep()
            return None

        wait_until(sent, timeout=10, what="the cancel's webhook to be sent by the sweep")
    assert not WebhookDelivery.objects.filter(state="pending").exists()
    assert len(seen) >= 4 and all(s.clean for s in seen), seen


def test_the_look_sees_a_transaction_that_has_written():
    """The check above can fail: a connection inside a transaction that has written is seen."""
    with transaction.atomic():
        placed(f"N-{uuid.uuid4().hex[:6]}")
        seen = look("inside", connections["default"])
    assert seen.in_transaction and not seen.clean
    if connection.vendor == "postgresql":
        assert len(seen.writers) == 1
