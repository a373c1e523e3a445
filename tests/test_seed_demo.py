"""`manage.py seed_demo`: a demo history posted through the gateway fills the read models; a second
run, or a run on a store that already has input, posts nothing."""

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from billing.models import PaymentLedgerEntry
from eventstore.store import EventStore
from gateway.models import Partner
from gateway.service import INPUT_STREAM, receive_message
from orders.models import OrderSummary, ProductSales, SalesByDay
from shipping.models import ShipmentBoardRow
from tests.flows import web_order

pytestmark = pytest.mark.django_db(transaction=True)


def seed() -> str:
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


@pytest.fixture
def in_process_flow(settings) -> None:
    settings.CONSUMER_DELIVERY_ON_COMMIT = settings.PROJECTIONS_ON_COMMIT = True
    call_command("loaddata", "demo_catalog", verbosity=0)


def test_seed_demo_posts_through_the_gateway_and_fills_the_read_models(in_process_flow):
    said = seed()

    inputs = list(EventStore().read_stream(INPUT_STREAM))
    assert f"Posted {len(inputs)} demo messages" in said
    assert {event.metadata["partner"] for event in inputs} == {"demo"}
    assert {event.metadata["source"] for event in inputs} == {"web", "marketplace", "warehouse"}
    assert OrderSummary.objects.count() == 60
    statuses = set(OrderSummary.objects.values_list("status", flat=True))
    assert {"payment_declined", "cancelled", "dispatched", "delivered"} <= statuses
    assert sum(SalesByDay.objects.values_list("orders", flat=True)) == 60
    assert ProductSales.objects.exists()
    assert {"captured", "declined", "refunded"} <= set(PaymentLedgerEntry.objects.values_list("kind", flat=True))
    assert ShipmentBoardRow.objects.filter(status="delivered").exists()


def test_a_second_run_posts_nothing(in_process_flow):
    seed()
    version = EventStore().stream_version(INPUT_STREAM)

    said = seed()

    assert "no demo history seeded" in said
    assert EventStore().stream_version(INPUT_STREAM) == version
    assert OrderSummary.objects.count() == 60


def test_a_store_with_input_already_is_left_alone(in_process_flow):
    receive_message(web_order("REAL-1", "tok_ok"), caller=Partner.objects.create(name="acme", allowed_sources=["web"]))

    assert "no demo history seeded" in seed()
    assert list(OrderSummary.objects.values_list("order_id", flat=True)) == ["REAL-1"]
    assert not Partner.objects.filter(name="demo").exists()


def test_seed_demo_needs_the_catalog(settings):
    with pytest.raises(CommandError, match="loaddata demo_catalog"):
        seed()
    assert EventStore().stream_version(INPUT_STREAM) == -1
