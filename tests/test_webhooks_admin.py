"""Webhooks in the admin: endpoints added (the secret shown once) and edited; deliveries listed read
only with their attempts, filtered by state, and replayed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.test import Client

from gateway.models import Partner
from tests.webhook_receivers import Receiver, queued
from webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from webhooks.sending import Sent, send_due
from webhooks.service import add_endpoint

pytestmark = pytest.mark.django_db(transaction=True)

ENDPOINTS = "/admin/webhooks/webhookendpoint/"
DELIVERIES = "/admin/webhooks/webhookdelivery/"


@pytest.fixture
def acme() -> Partner:
    return Partner.objects.create(name="acme", allowed_sources=["web"])


def test_an_endpoint_added_in_the_admin_shows_its_secret_once(admin_client, acme, settings):
    settings.WEBHOOK_ALLOW_PRIVATE = False
    form = {"partner": acme.pk, "url": "https://93.184.215.14/hook", "kinds": ["order.paid", "message.parked"]}
    answer = admin_client.post(f"{ENDPOINTS}add/", {**form, "active": "on"}, follow=True)
    assert answer.status_code == 200
    endpoint = WebhookEndpoint.objects.get()
    assert (endpoint.kinds, endpoint.active) == (["order.paid", "message.parked"], True)
    assert endpoint.secret.startswith("whsec_") and len(endpoint.secret) > 40
    shown = [str(m) for m in get_messages(answer.wsgi_request)]
    assert any(endpoint.secret in message for message in shown)
    assert endpoint.secret in answer.content.decode()  # on the page the add leads to, once
    for page in (ENDPOINTS, f"{ENDPOINTS}{endpoint.pk}/change/", f"{ENDPOINTS}add/"):
        assert endpoint.secret not in admin_client.get(page).content.decode(), page


def test_an_endpoint_aimed_at_a_private_address_is_refused_by_the_admin_form(admin_client, acme, settings):
    settings.WEBHOOK_ALLOW_PRIVATE = False
    answer = admin_client.post(f"{ENDPOINTS}add/", {"partner": acme.pk, "url": "https://192.168.0.10/hook"})
    assert answer.status_code == 200  # the form again, with the reason
    assert "not a public address" in answer.content.decode()
    assert not WebhookEndpoint.objects.exists()


def test_an_endpoints_url_kinds_and_active_are_edited_and_its_sending_state_kept(admin_client, acme, settings):
    settings.WEBHOOK_ALLOW_PRIVATE = False
    endpoint = add_endpoint(partner=acme, url="https://93.184.215.14/hook")
    retry_at = datetime.now(UTC) + timedelta(minutes=5)
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(failures=4, next_attempt_at=retry_at)
    form = {"url": "https://93.184.215.15/hook", "kinds": ["order.placed"]}  # "active" unticked
    answer = admin_client.post(f"{ENDPOINTS}{endpoint.pk}/change/", form)
    assert answer.status_code == 302, answer.content.decode()[:2000]
    endpoint.refresh_from_db()
    assert (endpoint.url, endpoint.kinds, endpoint.active) == ("https://93.184.215.15/hook", ["order.placed"], False)
    assert (endpoint.failures, endpoint.next_attempt_at, endpoint.partner) == (4, retry_at, acme)


def test_an_endpoint_cannot_be_deleted_only_made_inactive(admin_client, acme, settings):
    settings.WEBHOOK_ALLOW_PRIVATE = True
    endpoint = add_endpoint(partner=acme, url="http://127.0.0.1:9/hook")
    assert admin_client.post(f"{ENDPOINTS}{endpoint.pk}/delete/", {"post": "yes"}).status_code == 403
    assert WebhookEndpoint.objects.filter(pk=endpoint.pk).exists()


@pytest.fixture
def history(acme, settings) -> dict[str, WebhookDelivery]:
    """Deliveries that went each way: one delivered after a 500, one parked, one pending."""
    settings.WEBHOOK_ALLOW_PRIVATE = True
    with Receiver(answer="fail") as receiver:
        endpoint = add_endpoint(partner=acme, url=receiver.url)
        delivered, parked = queued(endpoint, "H-1", ["order.placed", "order.paid"])
        (pending,) = queued(endpoint, "H-2", ["order.placed"])
        assert send_due(endpoint.pk) is Sent.FAILED
        receiver.answer = "ok"
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(next_attempt_at=None)  # its backoff over
        WebhookDelivery.objects.filter(pk=delivered.pk).update(next_attempt_at=datetime.now(UTC))
        WebhookDelivery.objects.filter(pk=parked.pk).update(state="parked")
        WebhookDelivery.objects.filter(pk=pending.pk).update(next_attempt_at=datetime.now(UTC) + timedelta(days=1))
        assert send_due(endpoint.pk) is Sent.CAUGHT_UP
    for delivery in (delivered, parked, pending):
        delivery.refresh_from_db()
    assert (delivered.state, parked.state, pending.state) == ("delivered", "parked", "pending")
    return {"delivered": delivered, "parked": parked, "pending": pending}


def test_deliveries_are_listed_and_filtered_by_state(admin_client, history):
    listed = admin_client.get(DELIVERIES)
    assert {row.pk for row in listed.context_data["cl"].result_list} == {d.pk for d in history.values()}
    for state, delivery in history.items():
        answer = admin_client.get(f"{DELIVERIES}?state__exact={state}")
        assert answer.status_code == 200
        assert [row.pk for row in answer.context_data["cl"].result_list] == [delivery.pk]


def test_a_deliverys_page_shows_every_attempt_with_its_status_duration_and_error(admin_client, history):
    delivered = history["delivered"]
    attempts = list(WebhookAttempt.objects.filter(delivery=delivered).order_by("at"))
    assert [a.status_code for a in attempts] == [500, 200]
    page = admin_client.get(f"{DELIVERIES}{delivered.pk}/change/").content.decode()
    assert "Answered 500." in page and "order.placed" in page and str(delivered.event_id) in page
    for attempt in attempts:
        assert f">{attempt.status_code}<" in page.replace(" ", "")
        assert f">{attempt.duration_ms}<" in page.replace(" ", "")


def test_a_delivery_is_never_changed_or_deleted_in_the_admin(admin_client, history):
    delivered = history["delivered"]
    assert admin_client.post(f"{DELIVERIES}{delivered.pk}/change/", {"state": "pending"}).status_code == 403
    assert admin_client.post(f"{DELIVERIES}{delivered.pk}/delete/", {"post": "yes"}).status_code == 403
    assert admin_client.get(f"{DELIVERIES}add/").status_code == 403
    delivered.refresh_from_db()
    assert delivered.state == "delivered"


def test_replay_sends_parked_and_delivered_deliveries_again(admin_client, history):
    with Receiver() as receiver:
        WebhookEndpoint.objects.update(url=receiver.url)
        chosen = [history["delivered"].pk, history["parked"].pk, history["pending"].pk]
        answer = admin_client.post(DELIVERIES, {"action": "replay", "_selected_action": chosen}, follow=True)
        assert answer.status_code == 200
        assert "Replaying 2 deliveries." in answer.content.decode()
    # Sent again at once (no broker: on commit, here), in their order: H-1's placed, then its paid.
    assert receiver.kinds_taken("H-1") == ["order.placed", "order.paid"]
    assert receiver.kinds_taken("H-2") == []  # pending, and not due: left as it was
    assert WebhookDelivery.objects.get(pk=history["parked"].pk).state == "delivered"


def test_staff_who_may_only_view_deliveries_cannot_replay_them(history):
    viewer = get_user_model().objects.create_user("viewer", "viewer@example.com", "a long password", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_webhookdelivery"))
    client = Client()
    client.force_login(viewer)
    listed = client.get(DELIVERIES)
    assert listed.status_code == 200 and "replay" not in listed.content.decode()
    parked = history["parked"]
    client.post(DELIVERIES, {"action": "replay", "_selected_action": [parked.pk]})
    parked.refresh_from_db()
    assert parked.state == "parked"


def test_the_webhook_and_outcome_pages_in_chromium_fit_a_laptop_and_a_phone(history, page, site_url, page_errors):
    """Staff read the endpoints, the deliveries and a delivery's attempts, and the message outcomes,
    in a real browser: each page fits 1280 and 390 px (no sideways scrolling); screenshots kept."""
    from playwright.sync_api import expect

    from tests.browser import screenshots

    get_user_model().objects.create_superuser("boss", "boss@example.com", "a long password")
    page.goto(f"{site_url}/admin/login/?next={ENDPOINTS}")
    page.get_by_label("Username").fill("boss")
    page.get_by_label("Password").fill("a long password")
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#result_list")).to_be_visible()
    screenshots(page, "admin-webhook-endpoints")
    page.goto(f"{site_url}{DELIVERIES}")
    expect(page.locator("#result_list")).to_contain_text("order.paid")
    screenshots(page, "admin-webhook-deliveries")
    page.goto(f"{site_url}{DELIVERIES}{history['delivered'].pk}/change/")
    expect(page.locator("body")).to_contain_text("Answered 500.")
    screenshots(page, "admin-webhook-delivery")
    page.goto(f"{site_url}/admin/gateway/messageoutcome/")
    expect(page.locator("#changelist-filter")).to_contain_text("By status")
    screenshots(page, "admin-message-outcomes")
    assert page_errors == []
