"""A backlog is counted up to a cap: the admin's index, the processing page and /metrics stay quick
with a million events waiting, and say "at least" past the cap."""

import pytest
from django.core.management import call_command

from eventstore import consumers, lag, projections
from eventstore.outcomes import INPUT_STREAM, MESSAGE_TYPE
from eventstore.store import ANY, EventStore, NewEvent
from orders.projections import SalesByDayProjector

pytestmark = pytest.mark.django_db


@pytest.fixture
def small_cap(monkeypatch):
    monkeypatch.setattr(lag, "COUNT_CAP", 3)


def backlog(count: int) -> None:
    """`count` raw orders in shop-input and `count` OrderPlaced, none delivered or projected."""
    store = EventStore()
    for n in range(count):
        store.append(INPUT_STREAM, [NewEvent(MESSAGE_TYPE, {"n": n}, {"applies": "order", "source": "web"})], ANY)
        store.append(f"order-CAP-{n}", [NewEvent("OrderPlaced", {"order_id": f"CAP-{n}"})], ANY)


def orders_group() -> consumers.ConsumerGroup:
    [group] = [g for g in consumers.registered() if g.name == "orders"]
    return group


def test_a_lag_below_the_cap_is_exact_and_one_past_it_reads_at_least(small_cap):
    backlog(2)
    assert (consumers.status(orders_group()).lag_events, consumers.status(orders_group()).lag_text) == (2, "2")
    sales = projections.status(SalesByDayProjector())
    assert (sales.lag_events, sales.lag_text) == (2, "2")
    backlog(5)
    assert (consumers.status(orders_group()).lag_events, consumers.status(orders_group()).lag_text) == (3, "3+")
    sales = projections.status(SalesByDayProjector())
    assert (sales.lag_events, sales.lag_text) == (3, "3+")


def test_the_admin_and_the_commands_say_at_least_past_the_cap(small_cap, admin_client, capsys):
    backlog(5)
    index = admin_client.get("/admin/").content.decode()
    assert "+ messages waiting" in index
    processing = admin_client.get("/admin/eventstore/projectorstate/").content.decode()
    assert "<td>3+</td>" in processing
    call_command("projections", "status")
    [row] = [line.split() for line in capsys.readouterr().out.splitlines() if line.startswith("sales_by_day")]
    assert row[3] == "3+"
