"""What the order status page shows, read from the `OrderSummary` read model and, before its row
exists, from the outcome of the message that placed the order (docs/design.md 6.6).

An order the page can show is one of three: its summary row exists; or this browser placed it a
moment ago (the form's key, kept in a cookie, names the gateway's record of the message), and its
row is not projected yet: "being processed"; or neither, and the page answers 404 instead of
waiting for an order that will never come.

The page keeps updating until the order reaches a status after which nothing more happens by
itself (FINAL_STATUSES): a paid order is dispatched, then delivered, and the page follows. The
JSON keeps the word `settled` for that; the page says it in plain words.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from django.urls import reverse

from eventstore.store import EventStore
from gateway.models import IdempotencyRecord, MessageOutcome
from gateway.projections import not_projected_yet
from orders.models import OrderSummary
from readside.models import Product
from readside.storefront.countries import COUNTRIES
from readside.storefront.forms import QUANTITY_PREFIX
from readside.storefront.ordering import STOREFRONT_PARTNER, order_id_for
from returns.models import ReturnRow

#: Order statuses after which nothing more happens to the order by itself: the page stops updating.
#: A dispatched order is still to be delivered, and a return requested still to arrive.
FINAL_STATUSES = frozenset({"payment_declined", "cancelled", "delivered", "returned"})

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
PAYMENT_LABELS = {"captured": "Received", "declined": "Declined", "refunded": "Refunded"}
SHIPMENT_LABELS = {
    "requested": "Being prepared",
    "dispatched": "Dispatched",
    "delivered": "Delivered",
    "cancelled": "Cancelled",
}
HEADLINES = {
    None: "We have your order and are processing it.",
    "placed": "Your order is placed; we are taking the payment.",
    "paid": "Thank you: your order is paid. We are preparing it for the carrier.",
    "payment_declined": "Your payment was declined, so the order was not completed.",
    "dispatched": "Your order is on its way. Once it has arrived, you can ask for a return here.",
    "delivered": "Your order has been delivered.",
    "cancelled": "Your order was cancelled.",
    "return_requested": "We have your return request: send the goods back and we will refund you.",
    "returned": "Your return has arrived: the payment is refunded.",
}
REFUSED_HEADLINE = "We could not take this order, so nothing was charged: {reason}"
HELD_UP_HEADLINE = "Your order is held up on our side. Our staff have been told and will sort it out."
RETURN_BEING_RECORDED = "We are recording your return request."
RETURN_REFUSED = "Your return request was not accepted: {reason}"
UPDATING = "This page updates by itself."
FINISHED = "Nothing more is to come for this order, so this page no longer updates by itself."
NOT_YET = "—"


def is_settled(summary: OrderSummary | None) -> bool:
    """Nothing more happens to the order by itself: declined, cancelled, delivered or returned."""
    return summary is not None and summary.status in FINAL_STATUSES


@dataclass(frozen=True)
class StatusLine:
    sku: str
    name: str
    quantity: int
    unit_price: str
    amount: str


@dataclass(frozen=True)
class ReturnStep:
    label: str
    done: bool


@dataclass(frozen=True)
class OrderStatus:
    """One storefront order as its status page shows it; `known` is False until its row exists.

    `next_step` is what the customer can do now: "retry" (the payment was declined: place the
    order again, its lines filled in, at `retry_url`), "return" (delivered: ask for a return), or "".
    """

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
    address: str = NOT_YET
    next_step: str = ""
    retry_url: str = ""
    return_note: str = ""
    return_steps: tuple[ReturnStep, ...] = field(default=())

    @property
    def updates(self) -> str:
        """What the page says about its own updating, in plain words."""
        return FINISHED if self.settled else UPDATING

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
            "address": self.address,
            "next_step": self.next_step,
            "retry_url": self.retry_url,
            "return_note": self.return_note,
            "return_steps": [vars(step) for step in self.return_steps],
            "updates": self.updates,
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


def order_status(
    order_id: str, *, order_key: str | None = None, return_message: str | None = None
) -> OrderStatus | None:
    """The status of the storefront's order `order_id`, or None: no such order that this page may show.

    `order_key`: the key of the last form this browser sent (its cookie); if it placed this order,
    the order is shown as being processed until its row exists. `return_message`: the id of the
    return request this browser just sent for it, shown as being recorded until the row follows.
    Only orders the storefront submitted are shown: another partner's order is never found here.
    """
    summary = OrderSummary.objects.filter(order_id=order_id, partner=STOREFRONT_PARTNER).first()
    if summary is None:
        outcome = _placing_outcome(order_id, order_key)
        return None if outcome is None else _not_projected(order_id, outcome)
    status = _shown(summary)
    if summary.status == "delivered" and (asked := _return_outcome(order_id, return_message)):
        status = _with_return_asked(status, asked)
    return status


def retry_url(summary: OrderSummary) -> str:
    """The order form with this order's lines filled in (`?new`: with a key of its own)."""
    quantities = {QUANTITY_PREFIX + line["sku"]: line["quantity"] for line in summary.lines}
    return f"{reverse('home')}?new&{urlencode(quantities)}"


def _shown(summary: OrderSummary) -> OrderStatus:
    names = dict(Product.objects.filter(sku__in=[line["sku"] for line in summary.lines]).values_list("sku", "name"))
    declined = summary.status == "payment_declined"
    return OrderStatus(
        order_id=summary.order_id,
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
        lines=tuple(_line(line, summary.currency, names) for line in summary.lines),
        address=_address(summary),
        next_step="retry" if declined else "return" if summary.status == "delivered" else "",
        retry_url=retry_url(summary) if declined else "",
        return_steps=_return_steps(summary),
    )


def _not_projected(order_id: str, outcome: MessageOutcome) -> OrderStatus:
    """An order this browser placed whose summary row is not there yet: by its message's outcome."""
    reason = next((c["reason"] for c in outcome.components if c.get("reason")), "") or outcome.status
    headline = {
        "rejected": REFUSED_HEADLINE.format(reason=reason),
        "parked": HELD_UP_HEADLINE,
    }.get(outcome.status, HEADLINES[None])
    return OrderStatus(
        order_id=order_id,
        known=False,
        settled=outcome.status in ("rejected", "unroutable"),
        headline=headline,
        customer_name=NOT_YET,
        status="Not placed" if outcome.status == "rejected" else "Processing",
        payment_status=NOT_YET,
        shipment_status=NOT_YET,
        carrier=NOT_YET,
        tracking_number=NOT_YET,
        total=NOT_YET,
        lines=(),
    )


def _with_return_asked(status: OrderStatus, outcome: MessageOutcome) -> OrderStatus:
    """A delivered order whose return this browser asked for: being recorded, or refused."""
    if outcome.status in ("rejected", "parked", "unroutable"):
        reason = next((c["reason"] for c in outcome.components if c.get("reason")), "") or outcome.status
        return replace(status, return_note=RETURN_REFUSED.format(reason=reason))
    return replace(status, settled=False, next_step="", return_note=RETURN_BEING_RECORDED)


def _placing_outcome(order_id: str, order_key: str | None) -> MessageOutcome | None:
    """The outcome of the message this browser's kept form key placed `order_id` with, if it did."""
    if not order_key or order_id_for(order_key) != order_id:
        return None
    record = IdempotencyRecord.objects.filter(partner__name=STOREFRONT_PARTNER, key=order_key).first()
    return None if record is None else _outcome(record.message_id)


def _return_outcome(order_id: str, message_id: str | None) -> MessageOutcome | None:
    """The outcome of the storefront's return request `message_id` for `order_id`; None for any other message."""
    try:
        message_uuid = uuid.UUID(message_id or "")
    except ValueError:
        return None
    message = EventStore().get(message_uuid)
    ours = (
        message is not None
        and message.metadata.get("partner") == STOREFRONT_PARTNER
        and message.metadata.get("applies") == "return"
        and message.data.get("order_id") == order_id
    )
    return _outcome(message_uuid) if ours else None


def _outcome(message_id: uuid.UUID) -> MessageOutcome | None:
    return MessageOutcome.objects.filter(message_id=message_id).first() or not_projected_yet(message_id)


def _return_steps(summary: OrderSummary) -> tuple[ReturnStep, ...]:
    """A return's progress: asked for, goods received, refunded (none before a return is asked)."""
    if summary.status not in ("return_requested", "returned"):
        return ()
    row = ReturnRow.objects.filter(order_id=summary.order_id).first()
    asked = "Return asked for" + (f" ({row.reason})" if row and row.reason else "")
    returned = summary.status == "returned"
    return (
        ReturnStep(asked, True),
        ReturnStep("Goods received back", returned),
        ReturnStep("Payment refunded", summary.payment_status == "refunded"),
    )


def _address(summary: OrderSummary) -> str:
    """The shipping address, one line per line, when the summary has it (its columns may be absent)."""
    line1, city, postcode, country = (
        getattr(summary, f"shipping_{name}", "") for name in ("line1", "city", "postcode", "country")
    )
    if not (line1 or city or postcode or country):
        return NOT_YET
    lines = [line1, " ".join(filter(None, [postcode, city])), _COUNTRY_NAMES.get(country, country)]
    return "\n".join(filter(None, lines))


_COUNTRY_NAMES = dict(COUNTRIES)


def _line(line: dict[str, Any], currency: str, names: dict[str, str]) -> StatusLine:
    unit_price = Decimal(line["unit_price"])
    return StatusLine(
        sku=line["sku"],
        name=names.get(line["sku"], line["sku"]),
        quantity=line["quantity"],
        unit_price=f"{unit_price:.2f} {currency}",
        amount=f"{unit_price * line['quantity']:.2f} {currency}",
    )
