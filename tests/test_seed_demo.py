"""`manage.py seed_demo`: a demo history posted through the gateway fills the read models, spread
over the last 90 days on the story's clock (and the real clock back afterwards); a second run, or a
run on a store that already has input, posts nothing."""

import datetime
import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

import eventstore.store
import gateway.service
from billing.models import PaymentLedgerEntry
from eventstore.store import EventStore
from gateway.models import Partner
from gateway.service import INPUT_STREAM, receive_message
from orders.models import OrderSummary, ProductSales, SalesByDay
from readside.management.commands.seed_demo import HISTORY_DAYS, ORDERS
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
    assert OrderSummary.objects.count() == ORDERS
    statuses = set(OrderSummary.objects.values_list("status", flat=True))
    assert {"payment_declined", "cancelled", "dispatched", "delivered"} <= statuses
    assert sum(SalesByDay.objects.values_list("orders", flat=True)) == ORDERS
    assert ProductSales.objects.exists()
    assert {"captured", "declined", "refunded"} <= set(PaymentLedgerEntry.objects.values_list("kind", flat=True))
    assert ShipmentBoardRow.objects.filter(status="delivered").exists()


def test_the_history_spreads_over_the_last_90_days_in_time_order(in_process_flow):
    started = datetime.datetime.now(datetime.UTC)
    said = seed()
    assert f"over the last {HISTORY_DAYS} days" in said

    today = started.date()
    days = sorted(SalesByDay.objects.values_list("day", flat=True).distinct())
    assert today - datetime.timedelta(days=HISTORY_DAYS) <= days[0] < today - datetime.timedelta(days=80)
    assert days[-1] <= today
    assert len(days) >= 45, f"orders on only {len(days)} days"
    last_30 = sum(
        SalesByDay.objects.filter(day__gt=today - datetime.timedelta(days=30)).values_list("orders", flat=True)
    )
    assert ORDERS / 5 <= last_30 <= ORDERS / 2, f"{last_30} of {ORDERS} orders in the last 30 days"
    # The log reads as if the days had passed: times rise with positions, none is to come, and
    # the gateway's receipt agrees with the store's append.
    events = list(EventStore().iter_all())
    times = [event.recorded_at for event in events]
    assert times == sorted(times) and times[-1] <= datetime.datetime.now(datetime.UTC)
    for event in EventStore().read_stream(INPUT_STREAM):
        received = datetime.datetime.fromisoformat(event.metadata["received_at"])
        assert abs(received - event.recorded_at) < datetime.timedelta(seconds=5)
    # Lead times as the story tells them: a dispatch 3 hours to 3 days after its order.
    for order in OrderSummary.objects.filter(dispatched_at__isnull=False):
        assert datetime.timedelta(hours=3) <= order.dispatched_at - order.placed_at <= datetime.timedelta(days=3)
    # The real clock is back.
    assert eventstore.store.datetime is datetime.datetime and gateway.service.datetime is datetime.datetime
    assert EventStore().append("probe-1", [eventstore.store.NewEvent("Probe", {})], eventstore.store.NO_STREAM)
    assert list(EventStore().read_stream("probe-1"))[0].recorded_at >= started


def test_a_second_run_posts_nothing(in_process_flow):
    seed()
    version = EventStore().stream_version(INPUT_STREAM)

    said = seed()

    assert "no demo history seeded" in said
    assert EventStore().stream_version(INPUT_STREAM) == version
    assert OrderSummary.objects.count() == ORDERS


def test_a_store_with_input_already_is_left_alone(in_process_flow):
    receive_message(web_order("REAL-1", "tok_ok"), caller=Partner.objects.create(name="acme", allowed_sources=["web"]))

    assert "no demo history seeded" in seed()
    assert list(OrderSummary.objects.values_list("order_id", flat=True)) == ["REAL-1"]
    assert not Partner.objects.filter(name="demo").exists()


def test_seed_demo_needs_the_catalog(settings):
    with pytest.raises(CommandError, match="loaddata demo_catalog"):
        seed()
    assert EventStore().stream_version(INPUT_STREAM) == -1
