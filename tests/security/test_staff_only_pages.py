"""S5: every staff-only page (the admin's index and every change list, an order's admin page, the
processing page, the reports and each CSV export, /metrics) opened by an anonymous visitor and by a
signed-in user who is not staff: sent to the admin login, or 403, and nothing of the shop shown.
A processing-page post from them acts on nothing. Staff without permissions see no change list.
"""

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from eventstore.models import ParkedMessage
from readside.reports.sections import REPORTS
from tests.flows import web_order

pytestmark = pytest.mark.django_db(transaction=True)

ORDER_ID = "S5-ORDER"
#: What any of these pages would show of the shop: the order, its customer, a report's heading.
SHOP_DATA = (ORDER_ID.encode(), b"ann@example.com", b"TEE-RED-M", b"Fulfilment lead time", b"shop_orders")


def change_lists() -> list[str]:
    return [reverse(f"admin:{m._meta.app_label}_{m._meta.model_name}_changelist") for m in admin.site._registry]


def staff_only_pages() -> list[str]:
    return [
        "/admin/",
        *change_lists(),
        reverse("admin:orders_ordersummary_change", args=[ORDER_ID]),
        "/reports/",
        "/reports/?from=2000-01-01&to=2001-12-31",
        *[f"/reports/{name}.csv" for name in REPORTS],
        "/metrics",
    ]


@pytest.fixture
def shop(post) -> None:
    """An order through the whole flow, and a parked message, so every page has something to show."""
    post(web_order(ORDER_ID, "tok_ok"))
    post({**web_order("S5-BAD", "tok_ok"), "lines": []})
    assert ParkedMessage.objects.count() == 1


def visitor(kind: str) -> Client:
    client = Client()
    if kind == "signed-in customer":
        client.force_login(get_user_model().objects.create_user("customer", "customer@example.com", "a long password"))
    return client


def assert_kept_out(answer, path: str) -> None:
    if answer.status_code == 302:
        assert answer["Location"].startswith("/admin/login/?next="), (path, answer["Location"])
    else:
        assert answer.status_code == 403, (path, answer.status_code)
    shown = [data for data in SHOP_DATA if data in answer.content]
    assert not shown, (path, shown)


@pytest.mark.parametrize("kind", ["anonymous", "signed-in customer"])
def test_staff_only_pages_send_others_to_log_in_or_refuse_them(shop, kind):
    client = visitor(kind)
    pages = staff_only_pages()
    assert len(pages) > 20  # every change list is in the list
    for path in pages:
        assert_kept_out(client.get(path), path)


@pytest.mark.parametrize("kind", ["anonymous", "signed-in customer"])
def test_the_processing_pages_actions_do_nothing_for_others(shop, kind, settings):
    client = visitor(kind)
    before = list(ParkedMessage.objects.values_list("event_id", "parked_at"))
    for action in ({"action": "replay", "name": "orders"}, {"action": "rebuild", "name": "order_summary"}):
        path = reverse("admin:eventstore_projectorstate_changelist")
        assert_kept_out(client.post(path, action), path)
    skip = {"action": "skip", "index": "0", "_selected_action": str(ParkedMessage.objects.get().pk)}
    assert_kept_out(client.post(reverse("admin:eventstore_parkedmessage_changelist"), skip), "parked skip")
    assert list(ParkedMessage.objects.values_list("event_id", "parked_at")) == before


def test_staff_without_permissions_see_no_change_list_and_no_data(shop):
    client = Client()
    clerk = get_user_model().objects.create_user("clerk", "clerk@example.com", "a long password", is_staff=True)
    client.force_login(clerk)
    index = client.get("/admin/")
    assert index.status_code == 200  # staff may open the admin...
    assert not [data for data in SHOP_DATA if data in index.content]
    for path in [*change_lists(), reverse("admin:orders_ordersummary_change", args=[ORDER_ID])]:
        answer = client.get(path)  # ...but see nothing they were not given
        assert answer.status_code == 403, (path, answer.status_code)
        assert ORDER_ID.encode() not in answer.content, path
