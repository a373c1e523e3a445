"""Forgetting customers from the admin: an action on the customers' list, for staff with the
`orders.forget_customer` permission, that asks first, then forgets through the same service as
`manage.py forget_customer`. Its messages name no one (they wait in the session until shown)."""

import pytest
from django.contrib.auth.models import Permission, User
from django.contrib.messages import get_messages
from django.test import Client

from eventstore.models import CustomerKey, Event
from eventstore.personal_data import ERASED
from orders import service
from orders.models import CustomerOrders, OrderSummary
from tests.flows import web_order

pytestmark = pytest.mark.django_db(transaction=True)

CUSTOMERS = "/admin/orders/customerorders/"


def staff(*permissions: str) -> Client:
    user = User.objects.create_user("clerk", password="a long staff password", is_staff=True)
    codenames = ["view_customerorders", *permissions]
    user.user_permissions.set(Permission.objects.filter(content_type__app_label="orders", codename__in=codenames))
    client = Client()
    client.force_login(user)
    return client


def forget(client: Client, *, confirmed: bool):
    body = {"action": "forget_customers", "_selected_action": ["ann@example.com"]}
    return client.post(CUSTOMERS, {**body, "confirmed": "yes"} if confirmed else body)


def test_staff_without_the_permission_are_not_offered_it_and_cannot_post_it(post):
    post(web_order("F-1", "tok_ok"))
    clerk = staff()
    assert "forget_customers" not in clerk.get(CUSTOMERS).content.decode()
    answer = forget(clerk, confirmed=True)
    assert answer.status_code == 200  # the list again: no action of theirs by that name, nothing done
    assert CustomerKey.objects.filter(secret__isnull=True).count() == 0
    assert OrderSummary.objects.get(order_id="F-1").customer_name == "Ann"


def test_the_action_asks_first_then_forgets_and_its_messages_name_no_one(post):
    post(web_order("F-1", "tok_ok"))
    post(web_order("F-2", "tok_decline"))
    clerk = staff("forget_customer")
    assert "forget_customers" in clerk.get(CUSTOMERS).content.decode()

    asked = forget(clerk, confirmed=False)
    assert asked.status_code == 200
    page = asked.content.decode()
    assert "Yes, forget 1 customer" in page and "It cannot be" in page and "2 orders" in page
    assert CustomerKey.objects.filter(secret__isnull=True).count() == 0  # nothing done yet

    done = forget(clerk, confirmed=True)
    assert done.status_code == 302
    shown = [str(m) for m in get_messages(done.wsgi_request)]
    assert shown == ["1 customer(s) forgotten: their keys destroyed."]
    assert CustomerKey.objects.filter(secret__isnull=False).count() == 0  # destroyed
    assert CustomerKey.objects.filter(secret__isnull=True).exists()
    assert {row.customer_name for row in OrderSummary.objects.all()} == {ERASED}
    [customer] = CustomerOrders.objects.all()
    assert (customer.name, customer.orders) == (ERASED, 2)
    assert "ann@example.com" not in customer.email


def test_after_forgetting_the_event_pages_and_the_story_show_the_fields_erased(post, admin_client):
    post(web_order("F-1", "tok_ok"))
    placed = Event.objects.get(stream_id="order-F-1", event_type="OrderPlaced")
    before = admin_client.get(f"/admin/eventstore/event/{placed.pk}/change/").content.decode()
    assert "ann@example.com" in before  # opened for staff, as the pages showed it before sealing
    service.forget_customer("ann@example.com")
    event_page = admin_client.get(f"/admin/eventstore/event/{placed.pk}/change/").content.decode()
    order_page = admin_client.get("/admin/orders/ordersummary/F-1/change/").content.decode()
    for page in (event_page, order_page):
        assert ERASED in page
        assert "ann@example.com" not in page and "1 Via Roma" not in page
