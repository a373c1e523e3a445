"""Where shipping keeps customers' personal data (eventstore.personal_data): the address of
ShipmentRequested, sealed under the key of the order's customer, and its cache of placed orders,
scrubbed when the customer is forgotten. The country stays in clear (it names no one)."""

from __future__ import annotations

from typing import Any

from eventstore.personal_data import ERASED, Customer, Held, Sealed

from .models import PlacedOrder

_ERASED_PARTS = {"line1": ERASED, "city": ERASED, "postcode": ERASED}


def _placed_orders(customer: Customer) -> list[dict[str, Any]]:
    return list(PlacedOrder.objects.filter(order_id__in=customer.order_ids).values())


def _forget_placed_orders(customer: Customer) -> None:
    rows = list(PlacedOrder.objects.select_for_update().filter(order_id__in=customer.order_ids))
    for row in rows:
        row.shipping_address = {**row.shipping_address, **_ERASED_PARTS}
    PlacedOrder.objects.bulk_update(rows, ["shipping_address"])


PERSONAL_DATA = (
    Sealed(
        "ShipmentRequested",
        customer_of="order-{order_id}",
        fields=("address.line1", "address.city", "address.postcode"),
    ),
    Held("shipping's placed orders", export=_placed_orders, forget=_forget_placed_orders),
)
