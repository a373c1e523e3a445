"""The order form: customer, shipping address, a quantity per product, a test card, and the
form's one-time key (hidden; see readside.storefront.ordering and gateway.one_time_keys)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from django import forms
from django.core.validators import RegexValidator

from gateway.one_time_keys import OneTimeKeyField, new_key
from readside.storefront.catalog import CatalogItem
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


class OrderForm(forms.Form):
    """Built with the catalog to sell: one quantity field per product, named `quantity_<sku>`."""

    customer_name = forms.CharField(label="Name", max_length=200)
    customer_email = forms.EmailField(label="Email", max_length=254)
    line1 = forms.CharField(label="Address", max_length=200)
    city = forms.CharField(label="City", max_length=100)
    postcode = forms.CharField(label="Postcode", max_length=20)
    country = forms.CharField(
        label="Country",
        min_length=2,
        max_length=2,
        help_text="Two-letter code, e.g. IT",
        validators=[RegexValidator(r"^[A-Za-z]{2}$", "Enter a two-letter country code, e.g. IT.")],
    )
    payment_token = forms.ChoiceField(label="Payment", choices=TEST_CARDS, initial="tok_ok")
    order_key = OneTimeKeyField(error_messages={"required": ORDER_KEY_NOT_VALID, "invalid": ORDER_KEY_NOT_VALID})

    def __init__(self, *args, products: Sequence[CatalogItem], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.products = list(products)
        for product in self.products:
            self.fields[QUANTITY_PREFIX + product.sku] = forms.IntegerField(
                label=product.name, min_value=0, max_value=MAX_QUANTITY, initial=0, required=False
            )

    def product_rows(self) -> Iterator[tuple[CatalogItem, forms.BoundField]]:
        """Each product with its bound quantity field, for the catalog table."""
        for product in self.products:
            yield product, self[QUANTITY_PREFIX + product.sku]

    def clean_country(self) -> str:
        return self.cleaned_data["country"].upper()

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
