"""The order form: customer, shipping address, a quantity per product, a test card, and the
form's one-time key (hidden; see readside.storefront.ordering and gateway.one_time_keys)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from django import forms
from django.http import QueryDict

from gateway.one_time_keys import OneTimeKeyField, new_key
from readside.storefront.catalog import CatalogItem
from readside.storefront.countries import COUNTRIES
from readside.storefront.ordering import OrderRequest, ShippingAddress

MAX_QUANTITY = 99
QUANTITY_PREFIX = "quantity_"
NO_LINES = "Choose a quantity of at least 1 for one product or more."
ORDER_KEY_NOT_VALID = (
    "This order form could not be read as one our shop showed you, so nothing was ordered. "
    "Check your order and place it again."
)

#: The fake payment provider's tokens (docs/design.md 6.3); no real card is ever asked for.
TEST_CARDS = [
    ("tok_ok", "Test card: payment accepted"),
    ("tok_decline", "Test card: payment declined"),
    ("tok_flaky", "Test card: provider fails twice, then accepts"),
]
NO_COUNTRY = "Choose the country to ship to."
NOT_A_COUNTRY = "Choose a country from the list."


class CountryField(forms.ChoiceField):
    """A select of the countries we ship to, by ISO 3166 alpha-2 code; a code posted in lower
    case (a script, an old form) is read in upper case. One error at most: required or not one."""

    def __init__(self, **kwargs) -> None:
        super().__init__(
            choices=[("", "Choose a country")] + list(COUNTRIES),
            error_messages={"required": NO_COUNTRY, "invalid_choice": NOT_A_COUNTRY},
            **kwargs,
        )

    def to_python(self, value) -> str:
        return super().to_python(value).strip().upper()


def text_input(autocomplete: str) -> forms.TextInput:
    """A text box the browser can fill from what it knows of the customer (autocomplete tokens of HTML)."""
    return forms.TextInput(attrs={"autocomplete": autocomplete})


class OrderForm(forms.Form):
    """Built with the catalog to sell: one quantity field per product, named `quantity_<sku>`."""

    customer_name = forms.CharField(label="Name", max_length=200, widget=text_input("name"))
    customer_email = forms.EmailField(
        label="Email", max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "email"})
    )
    line1 = forms.CharField(label="Address", max_length=200, widget=text_input("address-line1"))
    city = forms.CharField(label="City", max_length=100, widget=text_input("address-level2"))
    postcode = forms.CharField(label="Postcode", max_length=20, widget=text_input("postal-code"))
    country = CountryField(label="Country", widget=forms.Select(attrs={"autocomplete": "country"}))
    payment_token = forms.ChoiceField(label="Payment", choices=TEST_CARDS, initial="tok_ok")
    order_key = OneTimeKeyField(error_messages={"required": ORDER_KEY_NOT_VALID, "invalid": ORDER_KEY_NOT_VALID})

    def __init__(self, *args, products: Sequence[CatalogItem], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.products = list(products)
        for product in self.products:
            self.fields[QUANTITY_PREFIX + product.sku] = forms.IntegerField(
                label=product.name,
                min_value=0,
                max_value=MAX_QUANTITY,
                initial=0,
                required=False,
                # What the page's script adds up for the running total (the server prices the order).
                widget=forms.NumberInput(
                    attrs={"data-unit-price": str(product.unit_price), "data-currency": product.currency}
                ),
            )

    def product_rows(self) -> Iterator[tuple[CatalogItem, forms.BoundField]]:
        """Each product with its bound quantity field, for the catalog table."""
        for product in self.products:
            yield product, self[QUANTITY_PREFIX + product.sku]

    def error_links(self) -> Iterator[tuple[str, str, str]]:
        """Each field's errors as (the field's id, its label, the error), for the error summary."""
        for name, errors in self.errors.items():
            if name in self.fields and name != "order_key":
                field = self[name]
                for error in errors:
                    yield field.auto_id, field.label, error

    def clean(self) -> dict:
        cleaned = super().clean()
        if self.has_error("order_key"):
            self.renew_order_key()  # the form shown again must be one that can be placed
        if not self._quantities(cleaned) and not any(name.startswith(QUANTITY_PREFIX) for name in self.errors):
            raise forms.ValidationError(NO_LINES, code="no_lines")
        return cleaned

    def renew_order_key(self) -> None:
        """Give the form, shown again, a fresh key: placing it then places a new order."""
        self.data = self.data.copy()  # a request's QueryDict is immutable; its copy is not
        self.data[self.add_prefix("order_key")] = new_key()

    def one_time_key(self) -> str:
        """The valid form's one-time key."""
        return self.cleaned_data["order_key"]

    def shown_key(self) -> str:
        """The key the form carries as it is shown (posted, renewed, or new)."""
        return self["order_key"].value() or ""

    def order_request(self) -> OrderRequest:
        """The valid form as what the customer asked for."""
        data = self.cleaned_data
        return OrderRequest(
            customer_name=data["customer_name"],
            customer_email=data["customer_email"],
            shipping_address=ShippingAddress(
                line1=data["line1"], city=data["city"], postcode=data["postcode"], country=data["country"]
            ),
            quantities=self._quantities(data),
            payment_token=data["payment_token"],
        )

    def _quantities(self, cleaned: dict) -> dict[str, int]:
        return {
            product.sku: quantity
            for product in self.products
            if (quantity := cleaned.get(QUANTITY_PREFIX + product.sku)) and quantity >= 1
        }


def chosen_quantities(query: QueryDict, products: Sequence[CatalogItem]) -> dict[str, int]:
    """The quantities a link to the form fills in (`?quantity_<sku>=2`, as "place it again"
    links do), for products on sale and within bounds; anything else is left out."""
    chosen = {}
    for product in products:
        text = query.get(QUANTITY_PREFIX + product.sku, "")
        if text.isdigit() and 1 <= int(text) <= MAX_QUANTITY:
            chosen[QUANTITY_PREFIX + product.sku] = int(text)
    return chosen
