"""Basic accessibility of the storefront and the status page (issue 16 item 4): every field
labelled, every `aria-describedby` (and `aria-labelledby`) naming an element of the page, ids
unique; in Chromium, a form sent with mistakes comes back with the focus on its error summary."""

import re
import uuid
from html.parser import HTMLParser

import pytest
from django.core.management import call_command
from django.utils import timezone
from playwright.sync_api import expect

from orders.models import OrderSummary

pytestmark = pytest.mark.django_db(transaction=True)


class Elements(HTMLParser):
    """Every element's tag and attributes, in document order."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, dict[str, str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((tag, {name: value or "" for name, value in attrs}))


def problems(page: str) -> list[str]:
    """What a screen reader would stumble on: fields without a label, references to no element."""
    parser = Elements()
    parser.feed(page)
    ids = [attrs["id"] for _, attrs in parser.found if "id" in attrs]
    found = [f"id {i!r} used twice" for i in sorted(set(ids)) if ids.count(i) > 1]
    labelled = {attrs.get("for") for tag, attrs in parser.found if tag == "label"}
    for tag, attrs in parser.found:
        if tag in ("input", "select", "textarea") and attrs.get("type") not in ("hidden", "submit"):
            if attrs.get("id") not in labelled and not attrs.keys() & {"aria-label", "aria-labelledby"}:
                found.append(f"{tag} {attrs.get('name')!r} has no label")
        for reference in ("aria-describedby", "aria-labelledby", "for"):
            for target in attrs.get(reference, "").split():
                if target not in ids:
                    found.append(
                        f"{tag} {attrs.get('name') or attrs.get('id')!r}: {reference} {target!r} is no element"
                    )
    return found


def test_the_check_finds_a_field_without_a_label_and_a_dangling_reference():
    assert problems('<label for="a">A</label><input id="a"><input name="b" aria-describedby="gone">') == [
        "input 'b' has no label",
        "input 'b': aria-describedby 'gone' is no element",
    ]


@pytest.fixture
def catalog():
    call_command("loaddata", "demo_catalog", verbosity=0)


def delivered_order() -> str:
    order_id = str(uuid.uuid4())
    OrderSummary.objects.create(
        order_id=order_id,
        partner="storefront",
        status="delivered",
        customer_name="Ann",
        currency="EUR",
        total="19.90",
        lines=[{"sku": "TEE-RED-M", "quantity": 1, "unit_price": "19.90"}],
        payment_status="captured",
        shipment_status="delivered",
        updated_at=timezone.now(),
    )
    return order_id


BAD_FORM = {"order_key": str(uuid.uuid4()), "customer_email": "nope", "country": "ITA", "quantity_TEE-RED-M": "x"}


def test_the_storefronts_pages_label_every_field_and_refer_to_elements_that_exist(client, catalog):
    order_id = delivered_order()
    pages = {
        "the form": client.get("/"),
        "the form with errors": client.post("/", BAD_FORM),
        "a delivered order": client.get(f"/orders/{order_id}/"),
        "its return form with an error": client.post(f"/orders/{order_id}/return/", {"reason": ""}),
        "an unknown order": client.get(f"/orders/{uuid.uuid4()}/"),
    }
    for name, answer in pages.items():
        text = answer.content.decode()
        assert problems(text) == [], name
    with_errors = pages["the form with errors"].content.decode()
    assert with_errors.count("aria-describedby=") >= 3  # the fields in error point at their errors
    assert re.search(r'aria-describedby="id_country_error"', with_errors)


def test_a_form_sent_with_mistakes_comes_back_with_the_focus_on_its_error_summary(page, site_url, catalog):
    page.goto(site_url + "/")
    page.get_by_label("Email").fill("not-an-email")
    page.get_by_role("button", name="Place order").click()
    summary = page.locator("#error-summary")
    expect(summary).to_be_focused()
    expect(summary).to_contain_text("Email: Enter a valid email address.")
    summary.get_by_role("link", name="Email: Enter a valid email address.").click()
    expect(page.get_by_label("Email")).to_be_focused()  # each error leads to its field


def test_a_form_shown_without_mistakes_keeps_the_focus_where_it_is(page, site_url, catalog):
    page.goto(site_url + "/")
    assert page.locator("#error-summary").count() == 0
    assert page.evaluate("document.activeElement === document.body")
