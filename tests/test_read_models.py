"""The read models: what each projector makes of an order's events, and R17: for any history, a
rebuild from zero gives the same tables as following the log batch by batch."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eventstore.projections import rebuild, registered, run
from eventstore.store import ANY, EventStore, NewEvent
from orders.projections import OrderSummaryProjector
from tests.flows import cancel, dispatched, read_model_tables, web_order

pytestmark = pytest.mark.django_db(transaction=True)

store = EventStore()
ORDERS = ["A", "B", "C"]


def order_placed(order_id: str, n: int) -> dict:
    lines = [{"sku": f"SKU-{k}", "quantity": k + 1, "unit_price": f"{n}.{k}0"} for k in range(1 + n % 3)]
    total = sum(float(line["unit_price"]) * line["quantity"] for line in lines)
    return {
        "order_id": order_id,
        "partner": "acme",
        "source": "web",
        "customer": {"email": f"{order_id.lower()}@example.com", "name": order_id},
        "lines": lines,
        "currency": ["EUR", "USD"][n % 2],
        "total": f"{total:.2f}",
        "shipping_address": {"line1": "1 Via Roma", "city": "Rome", "postcode": "00100", "country": "IT"},
        "payment_token": "tok_ok",
    }


def event(kind: str, order_id: str, n: int) -> tuple[str, NewEvent]:
    data = {
        "OrderPlaced": lambda: order_placed(order_id, n),
        "OrderCancelled": lambda: {"order_id": order_id, "reason": "changed mind", "requested_by": "customer"},
        "PaymentCaptured": lambda: {"order_id": order_id, "amount": f"{n}.50", "currency": "EUR", "provider_ref": "p"},
        "PaymentDeclined": lambda: {"order_id": order_id, "reason": "declined"},
        "PaymentRefunded": lambda: {"order_id": order_id, "amount": f"{n}.50", "currency": "EUR", "provider_ref": "p"},
        "ShipmentRequested": lambda: {
            "order_id": order_id,
            "address": {"line1": "1", "city": "Rome", "postcode": "1", "country": "IT"},
            "lines": [],
        },
        "ShipmentDispatched": lambda: {"order_id": order_id, "carrier": "DHL", "tracking_number": f"T{n}"},
        "ShipmentDelivered": lambda: {"order_id": order_id},
        "ShipmentCancelled": lambda: {"order_id": order_id, "reason": "cancelled"},
        "ReturnRequested": lambda: {"order_id": order_id, "reason": "too small"},
        "ReturnReceived": lambda: {"order_id": order_id},
    }[kind]()
    category = next(c for c in ("order", "payment", "shipment", "return") if kind.lower().startswith(c))
    return f"{category}-{order_id}", NewEvent(kind, data)


# Every event type a read model follows; forgetting a customer has tests of its own
# (tests/test_personal_data.py, tests/test_forget_customer_s20.py), with a rebuild after it.
KINDS = [kind for kind in OrderSummaryProjector.event_types if kind != "CustomerForgotten"]
histories = st.lists(
    st.tuples(st.sampled_from(KINDS), st.sampled_from(ORDERS), st.integers(0, 9), st.booleans()),
    min_size=1,
    max_size=30,
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(history=histories, batch=st.integers(1, 5), prefix=st.uuids())
def test_a_rebuild_from_zero_equals_following_the_log(history, batch, prefix):
    # Any order of events, even one no flow would give: the projectors must still agree with
    # themselves. `run_now` draws where the follower catches up between appends.
    for kind, order, n, run_now in history:
        stream_id, new = event(kind, f"{order}-{prefix.hex[:8]}", n)
        store.append(stream_id, [new], ANY)
        if run_now:
            for projector in registered():
                run(projector, batch=batch)
    for projector in registered():
        run(projector, batch=batch)
    followed = read_model_tables()
    for projector in registered():
        rebuild(projector, batch=batch + 3)
    assert read_model_tables() == followed


def test_an_order_through_the_whole_flow_shows_in_every_read_model(post):
    from billing.models import PaymentLedgerEntry
    from orders.models import CustomerOrders, OrderSummary, ProductSales, SalesByDay
    from shipping.models import ShipmentBoardRow

    for body in (web_order("R-1", "tok_ok"), web_order("R-2", "tok_decline"), dispatched("R-1"), cancel("R-2")):
        post(body)

    shipped, declined = OrderSummary.objects.get(order_id="R-1"), OrderSummary.objects.get(order_id="R-2")
    assert (shipped.status, shipped.payment_status, shipped.shipment_status) == ("dispatched", "captured", "dispatched")
    assert (shipped.partner, shipped.customer_email, shipped.carrier) == ("acme", "ann@example.com", "DHL")
    assert shipped.placed_at <= shipped.paid_at <= shipped.dispatched_at
    assert (declined.status, declined.payment_status) == ("cancelled", "declined")
    assert sum(row.orders for row in SalesByDay.objects.all()) == 2
    assert ProductSales.objects.get(sku="TEE-RED-M", currency="EUR").quantity == 4
    assert (CustomerOrders.objects.get(email="ann@example.com").orders, CustomerOrders.objects.get().cancelled) == (
        2,
        1,
    )
    assert list(PaymentLedgerEntry.objects.order_by("recorded_at").values_list("order_id", "kind")) == [
        ("R-1", "captured"),
        ("R-2", "declined"),
    ]
    assert ShipmentBoardRow.objects.get(order_id="R-1").status == "dispatched"
    assert ShipmentBoardRow.objects.get(order_id="R-2").status == "cancelled"
