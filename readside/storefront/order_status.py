"""What the order status page shows, read only from the `OrderSummary` read model.

An order is *settled* when nothing the customer waits for on this page is still to come; the page
stops updating itself then. The rule lives here and nowhere else (the JSON says `settled`).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from gateway.models import IdempotencyRecord
from orders.models import OrderSummary
from readside.storefront.ordering import STOREFRONT_PARTNER, order_id_for

#: Order statuses after which the page stops updating (a dispatched order is delivered by the carrier).
FINAL_STATUSES = frozenset({"payment_declined", "cancelled", "dispatched", "delivered", "return_requested", "returned"})

STATUS_LABELS = {
    "placed": "Placed, awaiting payment",
    "paid": "Paid",
    "payment_declined": "Payment declined",
    "dispatched": "Dispatched",
    "delivered": "Delivered",
    "cancelled": "Cancelled",
    "return_requested": "Return requested",
    "returned": "Returned",
}
PAYMENT_LABELS = {"captured": "Captured", "declined": "Declined", "refunded": "Refunded"}
SHIPMENT_LABELS = {
    "requested": "Being prepared",
    "dispatched": "Dispatched",
    "delivered": "Delivered",
    "cancelled": "Cancelled",
}
HEADLINES = {
    None: "We have your order and are processing it. This page updates by itself.",
    "placed": "Your order is placed; we are taking the payment.",
    "paid": "Thank you: your order is paid.",
    "payment_declined": "Your payment was declined, so the order was not completed.",
    "dispatched": "Your order is on its way.",
    "delivered": "Your order has been delivered.",
    "cancelled": "Your order was cancelled.",
    "return_requested": "We have your return request: send the goods back and we will refund you.",
    "returned": "Your return has arrived: the payment is refunded.",
}
NOT_YET = "—"


def is_settled(summary: OrderSummary | None) -> bool:
    """Final: payment declined, cancelled, dispatched or delivered; or paid with its shipment requested."""
    if summary is None:
        return False
    return summary.status in FINAL_STATUSES or (summary.status == "paid" and summary.shipment_status == "requested")


@dataclass(frozen=True)
class StatusLine:
    sku: str
    quantity: int
    unit_price: str
    amount: str


@dataclass(frozen=True)
class OrderStatus:
    """One storefront order as its status page shows it; `known` is False until its row exists."""

    order_id: str
    known: bool
    settled: bool
    headline: str
    customer_name: str
    status: str
    payment_status: str
    shipment_status: str
    carrier: str
    tracking_number: str
    total: str
    lines: tuple[StatusLine, ...]

    def as_json(self) -> dict[str, Any]:
        """The JSON the page's script polls: the same texts the page shows."""
        return {
            "order_id": self.order_id,
            "known": self.known,
            "settled": self.settled,
            "headline": self.headline,
            "customer_name": self.customer_name,
            "status": self.status,
            "payment_status": self.payment_status,
            "shipment_status": self.shipment_status,
            "carrier": self.carrier,
            "tracking_number": self.tracking_number,
            "total": self.total,
            "lines": [vars(line) for line in self.lines],
        }


def order_placed_with(key: str) -> str | None:
    """The id of the storefront order the form with this key placed: known from the gateway's
    record of the key from the moment the post committed (the order summary may not be projected
    yet), and from the order summary once the gateway has forgotten the key."""
    order_id = order_id_for(key)
    sent = IdempotencyRecord.objects.filter(partner__name=STOREFRONT_PARTNER, key=key).exists()
    if sent or OrderSummary.objects.filter(order_id=order_id, partner=STOREFRONT_PARTNER).exists():
        return order_id
    return None


def order_status(order_id: str) -> OrderStatus:
    """The status of the storefront's order `order_id`, from its `OrderSummary` row (none yet: processing).

    Only orders the storefront submitted are shown: another partner's order is never found here.
    """
    summary = OrderSummary.objects.filter(order_id=order_id, partner=STOREFRONT_PARTNER).first()
    if summary is None:
        return OrderStatus(
            order_id=order_id,
            known=False,
            settled=False,
            headline=HEADLINES[None],
            customer_name=NOT_YET,
            status="Processing",
            payment_status=NOT_YET,
            shipment_status=NOT_YET,
            carrier=NOT_YET,
            tracking_number=NOT_YET,
            total=NOT_YET,
            lines=(),
        )
    return OrderStatus(
        order_id=order_id,
        known=True,
        settled=is_settled(summary),
        headline=HEADLINES.get(summary.status, HEADLINES[None]),
        customer_name=summary.customer_name or NOT_YET,
        status=STATUS_LABELS.get(summary.status, summary.status),
        payment_status=PAYMENT_LABELS.get(summary.payment_status, summary.payment_status) or NOT_YET,
        shipment_status=SHIPMENT_LABELS.get(summary.shipment_status, summary.shipment_status) or NOT_YET,
        carrier=summary.carrier or NOT_YET,
        tracking_number=summary.tracking_number or NOT_YET,
        total=NOT_YET if summary.total is None else f"{summary.total:.2f} {summary.currency}",
        lines=tuple(_line(line, summary.currency) for line in summary.lines),
    )


def _line(line: dict[str, Any], currency: str) -> StatusLine:
    unit_price = Decimal(line["unit_price"])
    return StatusLine(
        sku=line["sku"],
        quantity=line["quantity"],
        unit_price=f"{unit_price:.2f} {currency}",
        amount=f"{unit_price * line['quantity']:.2f} {currency}",
    )
