"""Where orders keeps customers' personal data (eventstore.personal_data): the customer and the
shipping address of OrderPlaced, and of the raw order messages of each shape it reads
(orders.adapters), sealed under the customer's key; its read models, anonymised by its projectors
from CustomerForgotten, are exported from here.

The country stays in clear: a two-letter code names no one, and the reports count by it.
"""

from __future__ import annotations

from typing import Any

from eventstore.personal_data import Customer, Held, Sealed

from .models import CustomerOrders, OrderSummary

_CUSTOMER_FIELDS = (
    "customer_email",
    "customer_name",
    "shipping_line1",
    "shipping_city",
    "shipping_postcode",
    "shipping_country",
)


def _order_summaries(customer: Customer) -> list[dict[str, Any]]:
    rows = OrderSummary.objects.filter(order_id__in=customer.order_ids).order_by("placed_at", "order_id")
    return list(rows.values("order_id", "status", *_CUSTOMER_FIELDS, "currency", "total", "lines", "placed_at"))


def _customer_orders(customer: Customer) -> list[dict[str, Any]]:
    return list(CustomerOrders.objects.filter(last_order_id__in=customer.order_ids).values())


PERSONAL_DATA = (
    Sealed(
        "OrderPlaced",
        email="customer.email",
        fields=("customer.name", "shipping_address.line1", "shipping_address.city", "shipping_address.postcode"),
    ),
    Sealed(
        "ShopDataReceived",
        when={"applies": "order", "source": "web"},
        email="customer.email",
        fields=("customer.name", "shipping_address.line1", "shipping_address.city", "shipping_address.postcode"),
    ),
    Sealed(
        "ShopDataReceived",
        when={"applies": "order", "source": "marketplace"},
        email="buyer.mail",
        fields=("buyer.full_name", "ship_to.street", "ship_to.town", "ship_to.zip"),
    ),
    Held("order summaries", export=_order_summaries),
    Held("customers", export=_customer_orders),
)
