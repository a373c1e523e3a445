"""S3 and S4 on the site as it runs (gunicorn): every form that changes something (the storefront's
order form, an admin action, an admin change form, the processing page, the parked messages'
actions) posted by a browser holding a staff session, without a CSRF token, with a wrong one, or
from another site (its Origin; over HTTPS behind a proxy, its Referer or none) is refused with 403
and changes nothing. The same post from the site's own page goes through.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from http.cookies import SimpleCookie
from urllib.parse import urlencode

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client

from eventstore.models import ParkedMessage
from gateway.models import PartnerAPIKey
from gateway.one_time_keys import new_key
from readside.models import Product
from tests.flows import web_order
from tests.partners import new_partner_key
from tests.security.surface import call, served_site, stored
from tests.serving import Answer, Site
from tests.waiting import wait_until

pytestmark = pytest.mark.django_db(transaction=True)

EVIL = "https://evil.example"


@pytest.fixture(scope="module")
def site(django_db_setup) -> Site:
    with served_site() as served:
        yield served


@dataclass(frozen=True)
class Browser:
    """A staff member's browser: its session and CSRF cookies, and the token the site's forms carry."""

    site: Site
    session: str
    csrf_cookie: str
    token: str

    def post(self, path: str, fields: dict[str, str], **headers: str) -> Answer:
        cookie = f"sessionid={self.session}; csrftoken={self.csrf_cookie}"
        headers = {"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie, **headers}
        return call(self.site, "POST", path, headers=headers, body=urlencode(fields).encode())

    @property
    def origin(self) -> str:
        return self.site.url


@dataclass(frozen=True)
class Form:
    """A form that changes something, and the fields a genuine post of it sends."""

    name: str
    path: str
    fields: dict[str, str]


@pytest.fixture
def forms(post) -> list[Form]:
    """Every kind of form that changes something, each with something to change."""
    call_command("loaddata", "demo_catalog", verbosity=0)
    new_partner_key("globex")
    for order_id in ("BAD-1", "BAD-2"):
        post({**web_order(order_id, "tok_ok"), "lines": []})  # parked by orders: no lines
    skipped = ParkedMessage.objects.filter(group="orders").earliest("parked_at")
    product = Product.objects.get(sku="TEE-RED-M")
    return [
        Form("storefront order", "/", {
            "customer_name": "Ann", "customer_email": "ann@example.com", "line1": "1 Via Roma", "city": "Rome",
            "postcode": "00100", "country": "IT", "payment_token": "tok_ok", "quantity_TEE-RED-M": "1",
            "order_key": new_key(),
        }),
        Form("admin action: revoke keys", "/admin/gateway/partnerapikey/", {
            "action": "revoke", "index": "0", "select_across": "0",
            "_selected_action": str(PartnerAPIKey.objects.get(partner__name="globex").pk),
        }),
        Form("admin change form: a product's price", f"/admin/readside/product/{product.sku}/change/", {
            "sku": product.sku, "name": product.name, "description": product.description,
            "unit_price": "0.01", "currency": product.currency, "active": "on", "_save": "Save",
        }),
        Form("parked messages action: skip", "/admin/eventstore/parkedmessage/", {
            "action": "skip", "index": "0", "select_across": "0", "_selected_action": str(skipped.pk),
        }),
        Form("processing page: replay parked", "/admin/eventstore/projectorstate/", {
            "action": "replay", "name": "orders",
        }),
    ]  # fmt: skip


@pytest.fixture
def browser(site, forms) -> Browser:
    """Signed in as a superuser (who may do everything above), with the CSRF cookie and token the
    storefront's page gave it."""
    client = Client()
    client.force_login(get_user_model().objects.create_superuser("boss", "boss@example.com", "a long password"))
    session = client.cookies["sessionid"].value
    page = call(site, "GET", "/", headers={"Cookie": f"sessionid={session}"})
    assert page.status == 200
    csrf_cookie = SimpleCookie(page.headers["Set-Cookie"])["csrftoken"].value
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page.body).group(1).decode()
    return Browser(site, session, csrf_cookie, token)


def state() -> tuple:
    """Everything the forms above change."""
    return (
        stored(),
        sorted(PartnerAPIKey.objects.values_list("name", "revoked")),
        sorted(Product.objects.values_list("sku", "unit_price")),
        sorted(ParkedMessage.objects.values_list("group", "event_id", "parked_at", "failures")),
    )


def assert_every_form_refused(browser: Browser, forms: list[Form], *, token: str | None, **headers: str) -> None:
    before = state()
    for form in forms:
        fields = form.fields if token is None else {**form.fields, "csrfmiddlewaretoken": token}
        answer = browser.post(form.path, fields, **headers)
        assert answer.status == 403, (form.name, answer.status, answer.body[:500])
        assert b"CSRF verification failed" in answer.body, form.name
    assert state() == before


def test_a_form_posted_without_a_csrf_token_is_refused(browser, forms):
    assert_every_form_refused(browser, forms, token=None, Origin=browser.origin)


def test_a_form_posted_with_a_wrong_csrf_token_is_refused(browser, forms):
    assert_every_form_refused(browser, forms, token="x" * 64, Origin=browser.origin)


def test_a_form_posted_from_another_site_with_a_valid_session_and_token_is_refused(browser, forms):
    """Even a token the other site somehow got: its Origin is not the site's."""
    assert_every_form_refused(browser, forms, token=browser.token, Origin=EVIL)


def test_a_form_posted_over_https_from_another_sites_page_is_refused_by_its_referer(browser, forms):
    """Behind the TLS proxy (X-Forwarded-Proto from an address gunicorn trusts) a post that names no
    Origin must come with a Referer from the site itself."""
    https = {"X-Forwarded-Proto": "https"}
    assert_every_form_refused(browser, forms, token=browser.token, Referer=f"{EVIL}/shop-form.html", **https)
    assert_every_form_refused(browser, forms, token=browser.token, **https)  # no Referer at all


def test_the_same_forms_posted_from_the_sites_own_page_go_through(browser, forms):
    before = state()
    parked_before = dict(ParkedMessage.objects.values_list("event_id", "parked_at"))
    for form in forms:
        answer = browser.post(form.path, {**form.fields, "csrfmiddlewaretoken": browser.token}, Origin=browser.origin)
        assert answer.status in (302, 303), (form.name, answer.status, answer.body[:500])
    after = state()
    assert after[0][0] == before[0][0] + 1  # the storefront's order
    assert ("globex", True) in after[1]  # the key revoked
    assert ("TEE-RED-M", Decimal("0.01")) in after[2]
    # One skipped; the other replayed, and parked again (it still has no lines) by the site's
    # background worker, after the answer.
    assert len(parked_before) == 2

    def parked_again():
        parked = list(ParkedMessage.objects.values_list("event_id", "parked_at"))
        return parked if len(parked) == 1 and parked[0][1] > parked_before[parked[0][0]] else None

    wait_until(parked_again, what="the replayed message to be parked again")
