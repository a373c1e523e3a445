"""The orders pages of the admin (issues 15 and 16): search by part of an email or a name, an
order's lines as a table with product names, its shipping address, its failed charges, and time
travel: the order summary as it was right after any event of its story, folded again from the
events up to it, beside the row now."""

import json
import re
from dataclasses import replace
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client
from django.utils import timezone

from eventstore import mapping
from eventstore.models import Delivery, Event
from orders import time_travel
from orders.models import CustomerOrders, OrderSummary
from orders.order_page import order_story
from readside.models import Product
from tests.browser import processed
from tests.flows import cancel, marketplace_order, web_order

pytestmark = pytest.mark.django_db(transaction=True)

PAGE = "/admin/orders/ordersummary/{}/change/"


@pytest.fixture
def staff_client() -> Client:
    """A staff user who may only view order summaries and customers (no superuser)."""
    user = User.objects.create_user("clerk", password="a long password", is_staff=True)
    user.user_permissions.set(
        Permission.objects.filter(
            codename__in=["view_ordersummary", "view_customerorders"], content_type__app_label="orders"
        )
    )
    client = Client()
    client.force_login(user)
    return client


def settled(order_id: str, **state: str) -> OrderSummary:
    """The order's summary once the projector has written `state` (on PostgreSQL a reader of the
    log sees an event once every older transaction of the cluster has ended)."""
    return processed(
        lambda: OrderSummary.objects.filter(order_id=order_id, **state).first(), what=f"{order_id} with {state}"
    )


def listed(page: str) -> list[str]:
    """The order ids (or customer emails) of a change list, in order."""
    return re.findall(r'<th class="field-\w+"><a href="[^"]+">([^<]+)</a>', page)


def test_orders_are_found_by_part_of_the_email_or_name_in_any_case_or_by_their_exact_id(post, staff_client):
    post(web_order("S-1", "tok_ok"))  # Ann, ann@example.com
    post(marketplace_order("M-1", "tok_ok"))  # Bob, bob@example.com
    settled("S-1"), settled("M-1")

    def found(query: str) -> list[str]:
        answer = staff_client.get("/admin/orders/ordersummary/", {"q": query})
        assert answer.status_code == 200
        return sorted(listed(answer.content.decode()))

    assert found("ANN@EXAM") == ["S-1"]
    assert found("bo") == ["M-1"]
    assert found("example.com") == ["M-1", "S-1"]
    assert found("S-1") == ["S-1"]
    assert found("S-") == []  # an order id is matched whole
    assert found("ann example") == ["S-1"]  # each word in one of the fields
    assert found("nobody") == []


def test_customers_are_found_by_part_of_their_email_or_name(post, staff_client):
    post(web_order("S-1", "tok_ok"))
    post(marketplace_order("M-1", "tok_ok"))
    processed(lambda: CustomerOrders.objects.count() == 2 or None, what="both customers")
    page = staff_client.get("/admin/orders/customerorders/", {"q": "BO"}).content.decode()
    assert listed(page) == ["bob@example.com"]
    page = staff_client.get("/admin/orders/customerorders/", {"q": "ann"}).content.decode()
    assert listed(page) == ["ann@example.com"]


def test_an_orders_page_shows_its_lines_as_a_table_with_product_names_and_its_address(post, staff_client):
    Product.objects.update_or_create(sku="TEE-RED-M", defaults={"name": "Red tee, M", "unit_price": Decimal("19.90")})
    post(web_order("S-1", "tok_ok"))
    settled("S-1")
    page = staff_client.get(PAGE.format("S-1")).content.decode()
    lines = re.search(r'<table class="order-lines">.*?</table>', page, re.S).group(0)
    cells = [re.sub(r"<[^>]+>", "", cell) for cell in re.findall(r"<td[^>]*>.*?</td>", lines, re.S)]
    assert cells == ["Red tee, M", "TEE-RED-M", "2", "19.90", "39.80", "39.80"]
    assert lines.count('class="num"') == 7  # three headers, three cells and the total
    assert "Amounts in EUR." in page
    address = re.search(r'<address class="order-address">(.*?)</address>', page, re.S).group(1)
    assert re.findall(r"<span>([^<]*)</span>", address) == ["1 Via Roma", "00100 Rome", "IT"]
    assert '"unit_price"' not in page.split('<table class="order-story"')[0]  # no raw JSON for the lines


def test_a_sku_the_catalog_lacks_shows_without_a_name(post, staff_client):
    post(marketplace_order("M-1", "tok_ok"))  # MUG-BLUE, in no catalog here
    settled("M-1")
    Product.objects.filter(sku="MUG-BLUE").delete()
    page = staff_client.get(PAGE.format("M-1")).content.decode()
    assert re.search(r"<td>—</td><td class=\"order-sku\">MUG-BLUE</td>", page)


def test_a_declined_charge_shows_with_its_time_and_reason(post, staff_client):
    post(web_order("D-1", "tok_decline"))
    settled("D-1")
    declined = Event.objects.get(stream_id="payment-D-1", event_type="PaymentDeclined")
    page = staff_client.get(PAGE.format("D-1")).content.decode()
    failures = re.search(r'<table class="order-failures">.*?</table>', page, re.S).group(0)
    assert declined.recorded_at.strftime("%Y-%m-%d %H:%M:%S") in failures
    assert "Declined" in failures and "card declined" in failures


def test_a_charge_the_provider_could_not_take_at_first_shows_its_error_and_that_it_was_handled(post, staff_client):
    post(web_order("F-1", "tok_flaky"))  # the provider is unavailable on the first attempts
    settled("F-1", status="paid")
    page = staff_client.get(PAGE.format("F-1")).content.decode()
    failures = re.search(r'<table class="order-failures">.*?</table>', page, re.S).group(0)
    # Paid by now: the failures stay on the page, not as "retrying" for ever.
    assert re.search(r"<td>billing: failed \d+ times?, then handled</td>", failures)
    assert "retrying" not in failures
    assert "Payment provider unavailable" in failures


def test_work_still_failing_on_an_orders_event_shows_as_retrying_with_its_next_attempt(post, staff_client):
    post(web_order("F-2", "tok_ok"))
    settled("F-2", status="paid")
    placed = Event.objects.get(stream_id="order-F-2", event_type="OrderPlaced")
    # A group that has not handled it yet (no ProcessedEvent), failing now.
    Delivery.objects.create(
        group="returns", event_id=placed.event_id, failures=1, last_error="boom", next_attempt_at=timezone.now()
    )
    page = staff_client.get(PAGE.format("F-2")).content.decode()
    failures = re.search(r'<table class="order-failures">.*?</table>', page, re.S).group(0)
    assert "<td>returns: failed 1 time, retrying</td>" in failures
    assert "next attempt" in failures and "boom" in failures


def test_an_order_that_failed_nowhere_says_so(post, staff_client):
    post(web_order("S-1", "tok_ok"))
    settled("S-1")
    page = staff_client.get(PAGE.format("S-1")).content.decode()
    assert "None: no charge or other work on this order failed." in page


# --- time travel -----------------------------------------------------------------------------


def test_each_event_of_the_story_gives_the_row_as_it_was_right_after_it(post):
    post(web_order("S-1", "tok_ok"))
    post(cancel("S-1"))
    summary = settled("S-1", shipment_status="cancelled")
    story = order_story(summary)
    after = []
    for event in story:
        found = time_travel.as_of(summary, story, str(event.position))
        row = found.row and (
            found.row["status"],
            found.row.get("payment_status", ""),
            found.row.get("shipment_status", ""),
        )
        after.append((event.event_type, row))
    assert after == [
        ("ShopDataReceived", None),  # no row before the order is placed
        ("OrderPlaced", ("placed", "", "")),
        ("MessageProcessed", ("placed", "", "")),
        ("PaymentCaptured", ("paid", "captured", "")),
        ("ShipmentRequested", ("paid", "captured", "requested")),
        ("ShopDataReceived", ("paid", "captured", "requested")),
        ("OrderCancelled", ("cancelled", "captured", "requested")),
        ("MessageProcessed", ("cancelled", "captured", "requested")),
        ("PaymentRefunded", ("cancelled", "refunded", "requested")),
        ("ShipmentCancelled", ("cancelled", "refunded", "cancelled")),
    ]
    # After the last event, the fold is the row the projector wrote: no field differs.
    last = time_travel.as_of(summary, story, str(story[-1].position))
    assert [f.name for f in last.fields if f.differs] == []
    first = time_travel.as_of(summary, story, str(story[0].position))
    assert first.row is None and all(f.then is None for f in first.fields)


def test_the_page_shows_the_row_after_the_chosen_event_beside_the_row_now(post, staff_client):
    post(web_order("S-1", "tok_ok"))
    post(cancel("S-1"))
    settled("S-1", payment_status="refunded", shipment_status="cancelled")
    placed = Event.objects.get(stream_id="order-S-1", event_type="OrderPlaced")
    page = staff_client.get(PAGE.format("S-1")).content.decode()
    assert f'href="?as_of={placed.position}#time-travel"' in page  # each story row links to its moment
    answer = staff_client.get(PAGE.format("S-1"), {"as_of": placed.position})
    assert answer.status_code == 200
    panel = re.search(
        r'<fieldset class="module time-travel" id="time-travel">.*?</fieldset>', answer.content.decode(), re.S
    )
    rows = {
        name: (then, now, mark)
        for cls, name, then, now, mark in re.findall(
            r'<tr class="tt-(\w+)"><th scope="row">([^<]+)</th><td>(.*?)</td><td>(.*?)</td>'
            r'<td class="tt-mark">(.*?)</td>',
            panel.group(0),
        )
    }
    differs = '<span aria-hidden="true">≠</span><span class="tt-hidden">differs</span>'
    assert rows["status"] == ("placed", "cancelled", differs)
    assert rows["payment status"] == ("—", "refunded", differs)
    assert rows["customer email"] == ("ann@example.com", "ann@example.com", "")
    assert rows["total"] == ("39.80", "39.80", "")
    named = f'<a href="#event-{placed.position}">OrderPlaced</a> (order-S-1, position {placed.position})'
    assert named in panel.group(0)  # with a link to its row of the story


@pytest.mark.parametrize("value", ["abc", "", "-1", "1e3", "99999999999", "9" * 40])
def test_an_as_of_naming_no_event_of_the_story_is_refused_in_words(post, staff_client, value):
    post(web_order("S-1", "tok_ok"))
    settled("S-1")
    answer = staff_client.get(PAGE.format("S-1"), {"as_of": value})
    assert answer.status_code == 400
    page = answer.content.decode()
    assert re.search(r'<p class="errornote" role="alert">[^<]*(is not an event|not in this order)', page)
    assert "Read model row (order_summary)" in page  # the rest of the page as ever


def test_an_event_of_another_orders_story_is_refused(post, staff_client):
    post(web_order("S-1", "tok_ok"))
    post(web_order("S-2", "tok_ok"))
    settled("S-1"), settled("S-2")
    other = Event.objects.get(stream_id="order-S-2", event_type="OrderPlaced")
    answer = staff_client.get(PAGE.format("S-1"), {"as_of": other.position})
    assert answer.status_code == 400
    assert f"Event {other.position} is not in this order" in answer.content.decode()


def test_time_travel_folds_the_events_as_the_code_reads_them(post, monkeypatch):
    """Through the store's reading (`eventstore.mapping.on_read`), not the rows as stored: a read
    step that changes an event (as upcasting or opening personal data does) shows in the fold."""
    post(web_order("S-1", "tok_ok"))
    summary = settled("S-1")
    story = order_story(summary)
    placed = next(event for event in story if event.event_type == "OrderPlaced")

    def renamed(events: list) -> list:
        return [
            replace(e, data={**e.data, "customer": {**e.data["customer"], "name": "Ann as read"}})
            if e.event_type == "OrderPlaced"
            else e
            for e in events
        ]

    # The last step on the way out, after the project's own (personal data opened, upcast).
    monkeypatch.setattr(mapping, "_read_steps", [*mapping._read_steps, renamed])
    found = time_travel.as_of(summary, story, str(placed.position))
    assert found.row["customer_name"] == "Ann as read"
    assert "Ann as read" not in json.dumps(Event.objects.get(pk=placed.pk).data)  # the row as it was
