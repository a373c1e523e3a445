"""Placing an order from the storefront: the web-shape raw message (DESIGN 6.2), through the gateway.

The storefront is a partner of the gateway like any other, named "storefront" and allowed the
`web` source; its orders go through `shopsite.gateway.receive_message`, never straight to the
events or the read models.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from shopsite.gateway import receive_message
from shopsite.models import Partner
from shopsite.storefront.catalog import STORE_DOWN_ERRORS, CatalogItem, active_products

STOREFRONT_PARTNER = "storefront"
SOURCE = "web"


class StoreUnavailable(Exception):
    """The store could not be reached; nothing was stored."""


class ProductsUnavailable(Exception):
    """Some products of the order are no longer sold (deactivated or gone since the page was shown)."""

    def __init__(self, skus: list[str]) -> None:
        super().__init__(f"No longer available: {', '.join(skus)}.")
        self.skus = skus


class MixedCurrencies(Exception):
    """The products of one order are priced in more than one currency."""


@dataclass(frozen=True)
class ShippingAddress:
    line1: str
    city: str
    postcode: str
    country: str  # ISO 3166 alpha-2, upper case


@dataclass(frozen=True)
class OrderRequest:
    """What the customer asked for: quantities by SKU (each at least 1); prices come from the catalog."""

    customer_name: str
    customer_email: str
    shipping_address: ShippingAddress
    quantities: dict[str, int]
    payment_token: str


def storefront_partner() -> Partner:
    """The gateway caller the storefront posts as, created on first use."""
    partner, _ = Partner.objects.get_or_create(name=STOREFRONT_PARTNER, defaults={"allowed_sources": [SOURCE]})
    return partner


def place_order(order: OrderRequest) -> str:
    """Submit `order` through the gateway; returns its new order id (a uuid4: the status page's capability).

    Raises StoreUnavailable, ProductsUnavailable or MixedCurrencies; nothing is stored then.
    """
    try:
        products = {item.sku: item for item in active_products()}
        order_id = str(uuid.uuid4())
        receive_message(web_order_message(order_id, order, products), caller=storefront_partner())
    except STORE_DOWN_ERRORS as error:
        raise StoreUnavailable(str(error)) from error
    return order_id


def web_order_message(order_id: str, order: OrderRequest, products: dict[str, CatalogItem]) -> dict[str, Any]:
    """The raw order message of DESIGN 6.2, web shape, priced from `products` (active products by SKU)."""
    missing = sorted(sku for sku in order.quantities if sku not in products)
    if missing:
        raise ProductsUnavailable(missing)
    ordered = [products[sku] for sku in sorted(order.quantities)]
    currencies = {item.currency for item in ordered}
    if len(currencies) != 1:
        raise MixedCurrencies(f"One order takes one currency, not {', '.join(sorted(currencies))}.")
    address = order.shipping_address
    return {
        "applies": "order",
        "source": SOURCE,
        "profile": "customer",
        "order_id": order_id,
        "customer": {"email": order.customer_email, "name": order.customer_name},
        "lines": [
            {"sku": item.sku, "quantity": order.quantities[item.sku], "unit_price": str(item.unit_price)}
            for item in ordered
        ],
        "currency": currencies.pop(),
        "shipping_address": {
            "line1": address.line1,
            "city": address.city,
            "postcode": address.postcode,
            "country": address.country,
        },
        "payment": {"method": "card", "token": order.payment_token},
    }
