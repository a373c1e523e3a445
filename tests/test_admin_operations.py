"""What staff can do about the flow of work in the admin (issue 16): a parked message read whole and
handled on its own, a rebuild only after a confirmation, a processing page that says as of when and
refreshes, an index that sums it up and links to the reports, a partner's sources typed as names."""

import re

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client

from eventstore.models import ParkedMessage, ProcessedEvent
from orders.models import SalesByDay
from tests.flows import placed, web_order

pytestmark = pytest.mark.django_db(transaction=True)


def unmappable(order_id: str) -> dict:
    """An order no adapter can take: a line of quantity 0 (docs/design.md 6.2): parked by orders."""
    order = web_order(order_id, "tok_ok")
    order["lines"][0]["quantity"] = 0
    return order


def test_a_parked_messages_page_shows_the_message_its_partner_and_how_it_was_parked(post, admin_client):
    message_id = post(unmappable("P-1"))
    parked = ParkedMessage.objects.get(group="orders")
    page = admin_client.get(f"/admin/eventstore/parkedmessage/{parked.pk}/change/").content.decode()
    assert "at once: its content cannot be handled" in page and "Failures" not in page
    assert re.search(r"<label>Partner:</label>\s*<div class=\"readonly\">acme</div>", page)
    assert "&quot;quantity&quot;: 0" in page and message_id in page  # the payload, HTML-escaped
    assert "Replay this message" in page and "Skip it" in page


def test_one_parked_message_is_skipped_from_its_page_and_the_others_stay(post, admin_client):
    post(unmappable("P-1"))
    post(unmappable("P-2"))
    first, second = ParkedMessage.objects.filter(group="orders").order_by("position")
    answer = admin_client.post(f"/admin/eventstore/parkedmessage/{first.pk}/handle/", {"action": "skip"})
    assert answer.status_code == 302
    assert list(ParkedMessage.objects.values_list("pk", flat=True)) == [second.pk]
    assert ProcessedEvent.objects.filter(group="orders", event_id=first.event_id).exists()


def test_one_parked_message_is_replayed_from_its_page(post, admin_client):
    post(unmappable("P-1"))
    parked = ParkedMessage.objects.get(group="orders")
    answer = admin_client.post(
        f"/admin/eventstore/parkedmessage/{parked.pk}/handle/", {"action": "replay"}, follow=True
    )
    assert "Replayed 1 messages." in answer.content.decode()
    assert (
        ParkedMessage.objects.filter(group="orders").count() == 1
    )  # its content still cannot be handled: parked again


def test_staff_who_may_only_view_parked_messages_get_no_buttons_and_cannot_post(post):
    post(unmappable("P-1"))
    parked = ParkedMessage.objects.get(group="orders")
    viewer = User.objects.create_user("viewer", password="pw", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_parkedmessage"))
    client = Client()
    client.force_login(viewer)
    page = client.get(f"/admin/eventstore/parkedmessage/{parked.pk}/change/").content.decode()
    assert "Replay this message" not in page
    assert client.post(f"/admin/eventstore/parkedmessage/{parked.pk}/handle/", {"action": "skip"}).status_code == 403
    assert ParkedMessage.objects.filter(pk=parked.pk).exists()


def test_a_rebuild_asks_for_a_confirmation_first(admin_client):
    placed("A-1")
    admin_client.post("/admin/eventstore/projectorstate/", {"action": "run", "name": "sales_by_day"})
    SalesByDay.objects.update(orders=7)  # a read model gone wrong
    confirm = admin_client.get("/admin/eventstore/projectorstate/?rebuild=sales_by_day").content.decode()
    assert "Rebuild sales_by_day?" in confirm and "orders_salesbyday" in confirm
    assert 'name="confirmed" value="yes"' in confirm
    unconfirmed = admin_client.post(
        "/admin/eventstore/projectorstate/", {"action": "rebuild", "name": "sales_by_day"}, follow=True
    )
    assert "needs its confirmation" in unconfirmed.content.decode()
    assert sum(row.orders for row in SalesByDay.objects.all()) == 7  # nothing was done
    admin_client.post(
        "/admin/eventstore/projectorstate/", {"action": "rebuild", "name": "sales_by_day", "confirmed": "yes"}
    )
    assert sum(row.orders for row in SalesByDay.objects.all()) == 1


def test_the_processing_page_says_as_of_when_and_refreshes_unless_asked_not_to(admin_client):
    page = admin_client.get("/admin/eventstore/projectorstate/").content.decode()
    assert re.search(r"As of <time datetime=\"[^\"]+\">\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC</time>", page)
    assert '<meta http-equiv="refresh" content="10">' in page
    still = admin_client.get("/admin/eventstore/projectorstate/?refresh=off").content.decode()
    assert 'http-equiv="refresh"' not in still and "Refresh every 10 s" in still


def test_the_admin_index_links_to_the_reports_and_sums_up_the_processing(post, admin_client):
    index = admin_client.get("/admin/").content.decode()
    assert 'href="/reports/"' in index and "up to date: nothing waiting, nothing parked." in index
    post(unmappable("P-1"))
    index = admin_client.get("/admin/").content.decode()
    assert "<strong>1 parked</strong>" in index


def test_the_admin_shows_times_to_the_second_with_the_zone(post, admin_client):
    post(web_order("T-1", "tok_ok"))
    page = admin_client.get("/admin/orders/ordersummary/").content.decode()
    assert re.search(r"<td class=\"field-placed_at[^\"]*\">\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC</td>", page)
