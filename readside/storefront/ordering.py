"""Placing an order from the storefront: the web-shape raw message (docs/design.md 6.2), through the gateway.

The storefront is a partner of the gateway like any other, named "storefront" and allowed the
`web` source; its orders go through `gateway.service.receive_message`, never straight to the
events or the read models.

Each order form carries a one-time key, made when the page is shown (`gateway.one_time_keys`). It is the
gateway's Idempotency-Key, and the order id is derived from it (`order_id_for`), so the same form
sent twice (a double click, a reload of the post, back and resubmit) stores one message and places
one order, and both answers lead to the same status page. The same key with other content (the
form changed after going back) raises OrderKeyUsed: nothing new is stored. As the order id follows
from the key, an order the gateway no longer remembers the key of (IDEMPOTENCY_KEY_TTL_HOURS)
is still placed once: the orders component takes a repeat of an order id as a repeat.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from gateway.models import Partner
from gateway.service import IdempotencyKeyReused, receive_message
from readside.storefront.catalog import STORE_DOWN_ERRORS, CatalogItem, active_products

STOREFRONT_PARTNER = "storefront"
SOURCE = "web"
#: The storefront's order ids are uuid5(ORDER_ID_NAMESPACE, form key). Never change it: a form
#: shown before the change and sent after would get another order id, and a second order.
ORDER_ID_NAMESPACE = uuid.UUID("5d0c3b9e-8f2a-4e61-9a57-2f4d1c7b8e03")


class StoreUnavailable(Exception):
    """The store could not be reached; nothing was stored."""


class ProductsUnavailable(Exception):
    """Some products of the order are no longer sold (deactivated or gone since the page was shown)."""

    def __init__(self, skus: list[str]) -> None:
        super().__init__(f"No longer available: {', '.join(skus)}.")
        self.skus = skus


class MixedCurrencies(Exception):
    """The products of one order are priced in more than one currency."""


class OrderKeyUsed(Exception):
    """The form's key placed an order before, with other content; nothing new was stored."""

    def __init__(self, order_id: str) -> None:
        super().__init__(f"This form placed order {order_id} before, with other content.")
        self.order_id = order_id


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
    return Partner.of_the_shop(STOREFRONT_PARTNER, [SOURCE])


def order_id_for(key: str) -> str:
    """The id of the order the form with this key places: the same key, the same order."""
    return str(uuid.uuid5(ORDER_ID_NAMESPACE, key))


def place_order(order: OrderRequest, *, key: str) -> str:
    """Submit `order` through the gateway, once per form `key`; returns its order id.

    The same key with the same order again stores nothing and returns the same id. Raises
    OrderKeyUsed (the key placed another order), StoreUnavailable, ProductsUnavailable or
    MixedCurrencies; nothing is stored then.
    """
    order_id = order_id_for(key)
    try:
        products = {item.sku: item for item in active_products()}
        message = web_order_message(order_id, order, products)
        receive_message(message, caller=storefront_partner(), idempotency_key=key)
    except IdempotencyKeyReused as reused:
        raise OrderKeyUsed(order_id) from reused
    except STORE_DOWN_ERRORS as error:
        raise StoreUnavailable(str(error)) from error
    return order_id


def web_order_message(order_id: str, order: OrderRequest, products: dict[str, CatalogItem]) -> dict[str, Any]:
    """The raw order message of docs/design.md 6.2, web shape, priced from `products` (active products by SKU)."""
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
