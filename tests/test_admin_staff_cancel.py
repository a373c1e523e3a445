"""Staff cancel an order from its admin page (issue 13 item 6): the admin only sends a cancel through
the gateway, as the "staff" partner with the user in the message's metadata; the orders component
cancels it (or rejects it once dispatched) as any other cancel, and the order's story shows who sent
it and what came of it. Only staff with `orders.cancel_order` see the button or may post the form.
"""

from __future__ import annotations

import re
import uuid

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client
from django.urls import reverse
from playwright.sync_api import expect

from eventstore.store import EventStore, RecordedEvent
from gateway.models import Partner
from gateway.staff import STAFF_PARTNER
from orders.domain import DISPATCHED_REASON
from orders.models import DispatchedOrder, OrderSummary
from tests.browser import assert_requests_stay_on_site, processed, screenshots
from tests.flows import dispatched, streams, web_order
from tests.waiting import wait_until

pytestmark = pytest.mark.django_db(transaction=True)

ORDER_ID = "SC-1"
PASSWORD = "a long staff password"
FORM_KEY = re.compile(r'name="form_key" value="([0-9a-f-]{36})"')


def change_url(order_id: str = ORDER_ID) -> str:
    return reverse("admin:orders_ordersummary_change", args=[order_id])


def cancel_url(order_id: str = ORDER_ID) -> str:
    return reverse("admin:orders_ordersummary_cancel", args=[order_id])


def staff_client(username: str, *codenames: str) -> Client:
    """Signed in as a new staff user with these permissions of orders' order summary."""
    user = User.objects.create_user(username, f"{username}@example.com", PASSWORD, is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label="orders", codename__in=codenames))
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def clerk(post) -> Client:
    """Staff who may view orders and cancel them."""
    return staff_client("clerk", "view_ordersummary", "cancel_order")


@pytest.fixture
def viewer(post) -> Client:
    """Staff who may view orders, not cancel them."""
    return staff_client("viewer", "view_ordersummary")


def paid_order(post, order_id: str = ORDER_ID) -> OrderSummary:
    post(web_order(order_id, "tok_ok"))
    return processed(
        lambda: OrderSummary.objects.filter(order_id=order_id, status="paid", shipment_status="requested").first(),
        what=f"order {order_id} paid, its shipment requested",
    )


def staff_messages() -> list[RecordedEvent]:
    """The raw messages staff sent, in order."""
    return [event for event in EventStore().read_stream("shop-input") if event.metadata["partner"] == STAFF_PARTNER]


def form_key(client: Client, order_id: str = ORDER_ID) -> str:
    """The one-time key of a fresh confirmation form."""
    page = client.get(cancel_url(order_id))
    assert page.status_code == 200, page.status_code
    return FORM_KEY.search(page.content.decode()).group(1)


def sent(answer) -> list[str]:
    """The admin's messages on the page a redirect led to."""
    return [str(message) for message in answer.context["messages"]]


def test_staff_with_the_permission_cancel_a_paid_order_and_its_story_shows_who_did(post, clerk):
    paid_order(post)
    page = clerk.get(change_url()).content.decode()
    assert f'href="{cancel_url()}"' in page and "Cancel order…" in page

    answer = clerk.post(cancel_url(), {"reason": "Customer called", "form_key": form_key(clerk)}, follow=True)

    [message] = staff_messages()
    assert answer.redirect_chain == [(change_url(), 302)]
    assert sent(answer) == [f"Cancel sent (message {message.event_id}); the order's story shows the outcome."]
    assert message.data == {"action": "cancel", "order_id": ORDER_ID, "reason": "Customer called"}
    assert (message.metadata["user"], message.metadata["source"]) == ("clerk", "staff")
    assert Partner.objects.get(name=STAFF_PARTNER).allowed_sources == ["staff"]
    processed(  # the shipment's cancel may be seen after the refund
        lambda: OrderSummary.objects.filter(
            order_id=ORDER_ID, status="cancelled", payment_status="refunded", shipment_status="cancelled"
        ).first(),
        what="the order cancelled, refunded and its shipment cancelled",
    )
    assert streams(ORDER_ID) == (
        ["OrderPlaced", "OrderCancelled"],
        ["PaymentCaptured", "PaymentRefunded"],
        ["ShipmentRequested", "ShipmentCancelled"],
    )
    story = clerk.get(change_url()).content.decode()
    staff_row = re.search(rf"<tr[^>]*>(?:(?!</tr>).)*event_id={message.event_id}(?:(?!</tr>).)*</tr>", story, re.S)
    assert staff_row is not None
    assert '<td>clerk (staff)</td><td class="story-reason">Customer called</td>' in staff_row.group(0)
    assert "MessageProcessed" in story  # the message's outcome, in the cancel's flow
    assert f'href="{cancel_url()}"' not in story  # cancelled: no button any more


def test_without_the_permission_there_is_no_button_and_the_cancel_answers_403(post, viewer):
    paid_order(post)
    page = viewer.get(change_url())
    assert page.status_code == 200 and b"Cancel order" not in page.content
    assert viewer.get(cancel_url()).status_code == 403
    answer = viewer.post(cancel_url(), {"reason": "Customer called", "form_key": str(uuid.uuid4())})
    assert answer.status_code == 403
    assert staff_messages() == []
    assert OrderSummary.objects.get(order_id=ORDER_ID).status == "paid"


@pytest.mark.parametrize("kind", ["anonymous", "signed-in customer"])
def test_others_are_sent_to_the_admin_login_and_send_nothing(post, kind):
    paid_order(post)
    client = Client()
    if kind == "signed-in customer":
        client.force_login(User.objects.create_user("customer", "customer@example.com", PASSWORD))
    for answer in (
        client.get(cancel_url()),
        client.post(cancel_url(), {"reason": "Customer called", "form_key": str(uuid.uuid4())}),
    ):
        assert answer.status_code == 302 and answer["Location"].startswith("/admin/login/?next=")
    assert staff_messages() == []


def test_a_superuser_may_cancel(post, admin_client):
    paid_order(post)
    assert f'href="{cancel_url()}"' in admin_client.get(change_url()).content.decode()
    answer = admin_client.post(cancel_url(), {"reason": "Fraud", "form_key": form_key(admin_client)})
    assert answer.status_code == 302
    [message] = staff_messages()
    assert message.metadata["user"] == "admin"


def test_a_double_submit_of_one_form_sends_one_message(post, clerk):
    paid_order(post)
    fields = {"reason": "Customer called", "form_key": form_key(clerk)}
    first = clerk.post(cancel_url(), fields, follow=True)
    second = clerk.post(cancel_url(), fields, follow=True)
    [message] = staff_messages()
    assert sent(first) == [f"Cancel sent (message {message.event_id}); the order's story shows the outcome."]
    assert sent(second) == [f"Cancel already sent (message {message.event_id}); the order's story shows the outcome."]
    processed(lambda: OrderSummary.objects.filter(order_id=ORDER_ID, status="cancelled").first(), what="cancelled")
    assert streams(ORDER_ID)[0] == ["OrderPlaced", "OrderCancelled"]


def test_the_same_form_sent_again_with_another_reason_sends_nothing_more(post, clerk):
    paid_order(post)
    key = form_key(clerk)
    clerk.post(cancel_url(), {"reason": "Customer called", "form_key": key}, follow=True)
    again = clerk.post(cancel_url(), {"reason": "Fraud", "form_key": key}, follow=True)
    assert [message.data["reason"] for message in staff_messages()] == ["Customer called"]
    [warning] = sent(again)
    assert warning.startswith("This form was already sent, with another reason: that first cancel stands")


def test_a_cancel_after_dispatch_is_rejected_and_the_story_says_so(post, clerk):
    paid_order(post)
    key = form_key(clerk)  # the form opened while the order is paid...
    post(dispatched(ORDER_ID))  # ...and the goods leave before it is sent
    processed(lambda: OrderSummary.objects.filter(order_id=ORDER_ID, status="dispatched").first(), what="dispatched")
    wait_until(lambda: DispatchedOrder.objects.filter(order_id=ORDER_ID).first(), what="orders to know it left")

    answer = clerk.post(cancel_url(), {"reason": "Customer called", "form_key": key}, follow=True)

    [message] = staff_messages()
    assert sent(answer) == [f"Cancel sent (message {message.event_id}); the order's story shows the outcome."]
    wait_until(
        lambda: streams(ORDER_ID)[0] == ["OrderPlaced", "OrderCancellationRejected"] or None,
        what="the cancel rejected",
    )
    assert streams(ORDER_ID)[1] == ["PaymentCaptured"]  # not refunded
    assert OrderSummary.objects.get(order_id=ORDER_ID).status == "dispatched"
    story = clerk.get(change_url()).content.decode()
    # The rejection, and the staff message's outcome, each with the reason.
    for event_type in ("OrderCancellationRejected", "MessageRejected"):
        assert f'>{event_type}</a></td><td></td><td class="story-reason">{DISPATCHED_REASON}</td>' in story, event_type
    assert "Cancel order" not in story  # dispatched: no button
    too_late = clerk.get(cancel_url(), follow=True)
    assert sent(too_late) == [f"Order {ORDER_ID} is dispatched: it can no longer be cancelled."]


@pytest.mark.parametrize("reason", ["", "   "])
def test_the_reason_is_required_and_nothing_is_sent_without_it(post, clerk, reason):
    paid_order(post)
    answer = clerk.post(cancel_url(), {"reason": reason, "form_key": form_key(clerk)})
    assert answer.status_code == 200
    assert answer.context["form"].errors == {"reason": ["This field is required."]}
    assert "This field is required." in answer.content.decode()
    assert staff_messages() == []


def test_a_form_without_its_one_time_key_sends_nothing(post, clerk):
    paid_order(post)
    answer = clerk.post(cancel_url(), {"reason": "Customer called", "form_key": "not-a-key"})
    assert answer.status_code == 200 and "form_key" in answer.context["form"].errors
    assert staff_messages() == []


def test_html_in_the_reason_is_shown_escaped(post, clerk):
    paid_order(post)
    reason = '<script>alert("x")</script><b>urgent</b>'
    clerk.post(cancel_url(), {"reason": reason, "form_key": form_key(clerk)})
    story = clerk.get(change_url()).content.decode()
    assert "<script>alert" not in story and "<b>urgent</b>" not in story
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&lt;b&gt;urgent&lt;/b&gt;" in story
    [message] = staff_messages()
    assert message.data["reason"] == reason  # stored as sent


def test_the_cancel_page_of_an_unknown_order_goes_back_to_the_admin_index(post, clerk):
    answer = clerk.get(cancel_url("NOPE"), follow=True)
    assert answer.redirect_chain == [("/admin/", 302)]
    assert staff_messages() == []


def test_staff_cancel_an_order_in_chromium(post, page, site_url, page_requests, page_errors):
    """The whole way a person goes: log in, the order's page, its button, the form, the story."""
    User.objects.create_superuser("boss", "boss@example.com", PASSWORD)
    paid_order(post)
    refused: list[str] = []  # content security policy violations (no inline script or style)
    page.on("console", lambda line: refused.append(line.text) if "Content Security Policy" in line.text else None)
    page.goto(site_url + change_url())
    page.get_by_label("Username").fill("boss")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("link", name="Cancel order…")).to_be_visible()
    screenshots(page, "admin-order-with-cancel")
    page.get_by_role("link", name="Cancel order…").click()
    expect(page).to_have_url(site_url + cancel_url())
    page.get_by_label("Reason").fill("Customer <b>called</b>")
    screenshots(page, "admin-cancel-form")
    page.get_by_role("button", name="Cancel the order").click()

    expect(page).to_have_url(site_url + change_url())
    expect(page.locator(".messagelist")).to_contain_text("the order's story shows the outcome.")
    [message] = staff_messages()
    expect(page.locator(".messagelist")).to_contain_text(str(message.event_id))
    processed(lambda: OrderSummary.objects.filter(order_id=ORDER_ID, status="cancelled").first(), what="cancelled")
    page.reload()
    expect(page.locator("table.order-story")).to_contain_text("boss (staff)")
    expect(page.locator("table.order-story")).to_contain_text("Customer <b>called</b>")  # text, not markup
    screenshots(page, "admin-order-cancelled")
    assert refused == [] and page_errors == []
    assert_requests_stay_on_site(page_requests, site_url)
