"""Returns end to end with no broker (docs/design.md 6.8): a delivered order's return asked for by
the customer and received by the warehouse, refunded once by billing, and shown as the order's
status in the read models, the partner API, the status page, the reports and the webhooks."""

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client

from eventstore.models import ParkedMessage
from eventstore.projections import projector, run
from eventstore.store import EventStore
from gateway.models import MessageOutcome, Partner, PartnerAPIKey
from orders.models import OrderSummary
from orders.reports import orders_by_status
from returns.domain import ALREADY_RETURNED_REASON, NOT_DELIVERED_REASON
from returns.models import ReturnRow
from tests.flows import dispatched, web_order
from tests.partners import new_partner_key
from tests.waiting import wait_until
from webhooks.models import WebhookDelivery
from webhooks.service import add_endpoint

pytestmark = pytest.mark.django_db(transaction=True)

STOREFRONT = "storefront"  # the partner the status page shows the orders of


@pytest.fixture
def shop(settings):
    """Posts as the storefront's partner, everything in-process, and its key to read the API with."""
    settings.CONSUMER_DELIVERY_ON_COMMIT = settings.PROJECTIONS_ON_COMMIT = True
    settings.CONSUMER_RETRY_BASE_SECONDS = 0.05
    settings.WEBHOOK_ALLOW_PRIVATE, settings.WEBHOOK_RETRY_BASE_SECONDS = True, 60  # written, not sent on
    key = new_partner_key(STOREFRONT)

    def post(body: dict) -> str:
        answer = Client().post(
            "/shop/api/v1", json.dumps(body), content_type="application/json", HTTP_AUTHORIZATION=f"Api-Key {key}"
        )
        assert answer.status_code == 202, answer.content
        return answer.json()["message_id"]

    return post, key


def delivered(order_id: str) -> dict:
    return {"applies": "shipment", "source": "warehouse", "profile": "warehouse", "order_id": order_id,
            "status": "delivered"}  # fmt: skip


def return_requested(order_id: str, reason: str = "too small") -> dict:
    return {"applies": "return", "source": "web", "profile": "customer", "order_id": order_id, "reason": reason}


def return_received(order_id: str) -> dict:
    return {"applies": "return", "source": "warehouse", "profile": "warehouse", "order_id": order_id,
            "status": "received"}  # fmt: skip


def projected(name: str, rows, **key: object):
    """The row once the projector `name` has read its events (on PostgreSQL it sees an event once
    every older transaction in the cluster has ended: it is run until the row is there)."""

    def row():
        run(projector(name))
        return rows.filter(**key).first()

    return wait_until(row, what=f"the {name} row of {key}")


def outcome(message_id: str) -> MessageOutcome:
    return projected("message_outcomes", MessageOutcome.objects.exclude(status="pending"), message_id=message_id)


def event_types(stream: str) -> list[str]:
    return [event.event_type for event in EventStore().read_stream(stream)]


def test_a_delivered_order_returned_is_refunded_once_and_shows_as_returned_everywhere(shop):
    post, key = shop
    order_id = str(uuid.uuid4())
    add_endpoint(partner=Partner.objects.get(name=STOREFRONT), url="http://127.0.0.1:9/hook")
    for body in (web_order(order_id, "tok_ok"), dispatched(order_id), delivered(order_id)):
        post(body)
    asked = post(return_requested(order_id))
    assert outcome(asked).status == "processed"
    assert projected("order_summary", OrderSummary.objects, order_id=order_id, status="return_requested")

    received = post(return_received(order_id))
    post(return_received(order_id))  # the warehouse says it twice
    assert outcome(received).status == "processed"
    wait_until(lambda: event_types(f"payment-{order_id}") == ["PaymentCaptured", "PaymentRefunded"] or None)
    assert event_types(f"return-{order_id}") == ["ReturnRequested", "ReturnReceived"]
    assert not ParkedMessage.objects.exists(), list(ParkedMessage.objects.values("group", "reason"))

    summary = projected("order_summary", OrderSummary.objects, order_id=order_id, status="returned")
    assert summary.payment_status == "refunded"
    row = projected("returns", ReturnRow.objects, order_id=order_id, status="received")
    assert (row.reason, row.requested_at <= row.received_at) == ("too small", True)

    api = Client(HTTP_AUTHORIZATION=f"Api-Key {key}")
    assert api.get(f"/api/v1/orders/{order_id}").json()["status"] == "returned"
    assert [o["order_id"] for o in api.get("/api/v1/orders?status=returned").json()["results"]] == [order_id]
    page = Client().get(f"/orders/{order_id}/").content.decode()
    assert "Returned" in page and "Your return has arrived: the payment is refunded." in page
    now = datetime.now(UTC)
    counts = {c.status: c.orders for c in orders_by_status(start=now - timedelta(days=1), end=now + timedelta(days=1))}
    assert (counts["returned"], counts["return_requested"]) == (1, 0)
    kinds = wait_until(
        lambda: (
            list(WebhookDelivery.objects.filter(order_id=order_id).order_by("sequence").values_list("kind", flat=True))
            if WebhookDelivery.objects.filter(order_id=order_id, kind="order.returned").exists()
            else None
        ),
        what="the order's webhooks",
    )
    assert kinds[-3:] == ["order.delivered", "order.return_requested", "order.returned"]


def test_a_return_of_an_order_not_delivered_or_returned_already_is_rejected_with_the_reason(shop):
    post, _ = shop
    post(web_order("RT-2", "tok_ok"))
    early = outcome(post(return_requested("RT-2")))
    assert (early.status, early.order_id) == ("rejected", "RT-2")
    assert early.components[0]["reason"] == NOT_DELIVERED_REASON

    for body in (dispatched("RT-2"), delivered("RT-2"), return_requested("RT-2"), return_received("RT-2")):
        post(body)
    again = outcome(post(return_requested("RT-2", "want it back again")))
    assert (again.status, again.components[0]["reason"]) == ("rejected", ALREADY_RETURNED_REASON)
    assert event_types("return-RT-2") == ["ReturnRejected", "ReturnRequested", "ReturnReceived", "ReturnRejected"]
    assert projected("returns", ReturnRow.objects, order_id="RT-2").status == "received"


def test_goods_received_with_no_return_asked_for_are_parked_for_staff(shop):
    post, _ = shop
    message_id = post(return_received("NEVER-ASKED"))
    parked = wait_until(lambda: ParkedMessage.objects.filter(group="returns").first(), what="the receipt parked")
    assert str(parked.event_id) == message_id
    assert "No return has been requested for order 'NEVER-ASKED'" in parked.reason
    assert outcome(message_id).status == "parked"
    assert EventStore().read_stream("return-NEVER-ASKED") == []


def test_a_return_message_that_cannot_be_mapped_is_parked_with_the_reason(shop):
    post, _ = shop
    message_id = post({**return_requested("RT-3"), "reason": ""})
    parked = wait_until(lambda: ParkedMessage.objects.filter(group="returns").first(), what="the message parked")
    assert (str(parked.event_id), parked.reason) == (message_id, "Field 'reason' must be a non-empty string.")
    assert PartnerAPIKey.objects.exists()  # the sender can read the outcome with its key
    assert outcome(message_id).status == "parked"
