"""The admin's read side: read models read only, an order's story, and the processing page."""

import re

import pytest
from django.contrib import admin
from django.contrib.auth.models import Permission, User
from django.test import Client

from eventstore import components, consumers, projections
from eventstore.models import Event
from eventstore.store import ANY, EventStore, NewEvent
from orders.models import OrderSummary, SalesByDay
from tests.browser import processed
from tests.flows import cancel, placed, web_order

pytestmark = pytest.mark.django_db(transaction=True)

READ_MODELS = [
    "orders/ordersummary",
    "orders/salesbyday",
    "orders/productsales",
    "orders/customerorders",
    "orders/ordersplacedbystatus",
    "orders/leadtimesbyday",
    "billing/paymentledgerentry",
    "billing/paymentsbyday",
    "shipping/shipmentboardrow",
]


def test_an_orders_page_tells_its_story_in_log_order_with_its_read_model_row(post, admin_client):
    post(web_order("S-1", "tok_ok"))
    post(cancel("S-1"))
    # On PostgreSQL another open transaction of the server may hold the refund back a moment.
    shipment_cancelled = Event.objects.filter(stream_id="shipment-S-1", event_type="ShipmentCancelled")
    processed(shipment_cancelled.first, what="S-1's shipment cancelled")
    processed(lambda: OrderSummary.objects.filter(order_id="S-1", status="cancelled").first(), what="S-1 cancelled")
    page = admin_client.get("/admin/orders/ordersummary/S-1/change/").content.decode()
    shown = re.findall(r'event_id=[0-9a-f-]+" title="[^"]*">(\w+)</a>', page)
    assert shown == [
        "ShopDataReceived",
        "OrderPlaced",
        "MessageProcessed",  # each message's outcome, in its flow
        "PaymentCaptured",
        "ShipmentRequested",
        "ShopDataReceived",
        "OrderCancelled",
        "MessageProcessed",
        "PaymentRefunded",
        "ShipmentCancelled",
    ]
    assert "Read model row (order_summary)" in page
    assert "cancelled" in page and "ann@example.com" in page


@pytest.mark.parametrize("model", READ_MODELS)
def test_read_models_are_listed_and_never_written_in_the_admin(post, admin_client, model):
    post(web_order("S-1", "tok_ok"))
    assert admin_client.get(f"/admin/{model}/").status_code == 200
    assert admin_client.get(f"/admin/{model}/add/").status_code == 403
    assert admin_client.post(f"/admin/{model}/add/", {}).status_code == 403


def test_a_read_model_row_cannot_be_changed_or_deleted(post, admin_client):
    post(web_order("S-1", "tok_ok"))
    assert admin_client.post("/admin/orders/ordersummary/S-1/change/", {"status": "delivered"}).status_code == 403
    assert admin_client.post("/admin/orders/ordersummary/S-1/delete/", {"post": "yes"}).status_code == 403
    # Paid as the projector wrote it, not "delivered" (on PostgreSQL it may see the payment a little later).
    processed(lambda: OrderSummary.objects.filter(order_id="S-1", status="paid").first(), what="S-1 paid")


def test_the_processing_page_shows_every_group_and_projector_with_its_lag(admin_client):
    placed("A-1")  # projections do not run on commit here: sales_by_day lags by one event
    EventStore().append(
        "order-A-9", [NewEvent("OrderCancelled", {"order_id": "A-9", "reason": "x", "requested_by": "staff"})], ANY
    )
    page = admin_client.get("/admin/eventstore/projectorstate/").content.decode()
    for name in (*(g.name for g in consumers.registered()), *(p.name for p in projections.registered())):
        assert f"<td>{name}</td>" in page
    row = re.search(r"<td>sales_by_day</td>\s*<td>[^<]*</td>\s*<td>(\d+)</td>", page)
    assert row is not None and row.group(1) == "1"


def test_the_processing_page_runs_and_rebuilds_a_projector(admin_client):
    placed("A-1")
    answer = admin_client.post("/admin/eventstore/projectorstate/", {"action": "run", "name": "sales_by_day"})
    assert answer.status_code == 302
    assert sum(row.orders for row in SalesByDay.objects.all()) == 1
    SalesByDay.objects.update(orders=7)  # a read model gone wrong
    answer = admin_client.post(
        "/admin/eventstore/projectorstate/",
        {"action": "rebuild", "name": "sales_by_day", "confirmed": "yes"},
        follow=True,
    )
    assert "Rebuilt sales_by_day." in answer.content.decode()
    assert sum(row.orders for row in SalesByDay.objects.all()) == 1
    answer = admin_client.post("/admin/eventstore/projectorstate/", {"action": "run", "name": "nope"}, follow=True)
    assert "No projector named &#x27;nope&#x27;" in answer.content.decode()


def test_staff_who_may_only_view_see_the_processing_page_without_actions():
    viewer = User.objects.create_user("viewer", password="pw", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_projectorstate"))
    client = Client()
    client.force_login(viewer)
    page = client.get("/admin/eventstore/projectorstate/")
    assert page.status_code == 200 and b"Rebuild" not in page.content
    assert client.post("/admin/eventstore/projectorstate/", {"action": "sweep"}).status_code == 403


@pytest.mark.parametrize("path", ["/admin/eventstore/projectorstate/", "/admin/orders/ordersummary/"])
def test_anonymous_users_are_sent_to_log_in(path):
    answer = Client().get(path)
    assert answer.status_code == 302 and answer["Location"].startswith("/admin/login/")


def test_every_components_read_models_are_in_the_admin():
    """Installing a component puts its read models in the admin: Django's autodiscovery finds its
    admin module; nothing lists them by hand."""
    models = [model for c in components.installed() for p in c.projectors() for model in p.models]
    assert {m._meta.app_label for m in models} >= {"orders", "billing", "shipping", "returns"}
    assert [m for m in models if not admin.site.is_registered(m)] == []
