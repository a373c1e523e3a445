"""The order form as issue 16 asks for it: the country a select of ISO codes shown by name, one
clear error for a bad country, autocomplete tokens on the customer's fields, what the running
total adds up, the error summary, and a form filled in from a link ("order again").

The running total itself is computed in the browser: tests/test_browser_storefront.py."""

import re
import unicodedata
import uuid

import pytest
from django.core.management import call_command

from eventstore.store import EventStore
from gateway.service import INPUT_STREAM
from readside.storefront.countries import COUNTRIES, COUNTRY_CODES
from readside.storefront.forms import NO_COUNTRY, NOT_A_COUNTRY

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalog():
    call_command("loaddata", "demo_catalog", verbosity=0)


def order_form(**overrides: str) -> dict[str, str]:
    return {
        "order_key": str(uuid.uuid4()),
        "customer_name": "Ann",
        "customer_email": "ann@example.com",
        "line1": "1 Via Roma",
        "city": "Rome",
        "postcode": "00100",
        "country": "IT",
        "payment_token": "tok_ok",
        "quantity_TEE-RED-M": "2",
        **overrides,
    }


def tag(text: str, name: str) -> str:
    """The opening tag of the form field named `name`."""
    found = re.search(rf'<(?:input|select|textarea)[^>]*\bname="{re.escape(name)}"[^>]*>', text)
    assert found, f"no field {name}"
    return found.group(0)


def test_the_country_is_a_select_of_iso_codes_shown_by_their_names(client, catalog):
    text = client.get("/").content.decode()
    assert tag(text, "country").startswith("<select")
    assert '<option value="IT">Italy</option>' in text
    assert '<option value="" selected>Choose a country</option>' in text
    assert len(COUNTRIES) == len(COUNTRY_CODES) == 249
    assert all(re.fullmatch(r"[A-Z]{2}", code) for code in COUNTRY_CODES)
    names = [name for _, name in COUNTRIES]
    assert names == sorted(names, key=lambda name: unicodedata.normalize("NFKD", name).encode("ascii", "ignore"))


@pytest.mark.parametrize(("posted", "error"), [("ITA", NOT_A_COUNTRY), ("XX", NOT_A_COUNTRY), ("", NO_COUNTRY)])
def test_a_country_not_on_the_list_shows_one_clear_error_and_stores_nothing(client, catalog, posted, error):
    text = client.post("/", order_form(country=posted)).content.decode()
    shown = re.search(r'<div class="errors" id="country-errors">(.*?)</div>', text, re.S).group(1)
    assert re.findall(r"<li>(.*?)</li>", shown) == [error]  # one error, not two
    assert f"Country: {error}" in text  # and the same once in the summary, linking to the field
    assert 'href="#id_country"' in text
    assert list(EventStore().read_stream(INPUT_STREAM)) == []


def test_a_country_code_in_lower_case_is_read_in_upper_case(client, catalog):
    assert client.post("/", order_form(country="it")).status_code == 303
    [message] = EventStore().read_stream(INPUT_STREAM)
    assert message.data["shipping_address"]["country"] == "IT"


@pytest.mark.parametrize(
    ("name", "token"),
    [
        ("customer_name", "name"),
        ("customer_email", "email"),
        ("line1", "address-line1"),
        ("city", "address-level2"),
        ("postcode", "postal-code"),
        ("country", "country"),
    ],
)
def test_the_customers_fields_carry_their_autocomplete_tokens(client, catalog, name, token):
    assert f'autocomplete="{token}"' in tag(client.get("/").content.decode(), name)


def test_each_quantity_carries_its_unit_price_for_the_running_total_which_is_hidden_without_a_script(client, catalog):
    text = client.get("/").content.decode()
    field = tag(text, "quantity_TEE-RED-M")
    assert 'data-unit-price="19.90"' in field and 'data-currency="EUR"' in field
    assert re.search(r'<p class="running-total" data-running-total hidden>', text)


def test_the_error_summary_lists_each_error_with_a_link_to_its_field(client, catalog):
    text = client.post("/", order_form(customer_email="nope", city="")).content.decode()
    summary = re.search(r'<div class="error-summary".*?</div>\s*(?=<p|<form|<div)', text, re.S).group(0)
    assert 'tabindex="-1"' in summary
    assert '<a href="#id_customer_email">Email: Enter a valid email address.</a>' in summary
    assert '<a href="#id_city">City: This field is required.</a>' in summary
    assert "order_key" not in summary


def test_a_link_with_quantities_fills_them_in_with_a_new_key_and_ignores_the_rest(client, catalog):
    text = client.get("/?new&quantity_TEE-RED-M=3&quantity_GONE=2&quantity_MUG-LOGO=100").content.decode()
    assert 'value="3"' in tag(text, "quantity_TEE-RED-M")
    assert 'value="0"' in tag(text, "quantity_MUG-LOGO")  # out of bounds: left out
    assert "quantity_GONE" not in text
