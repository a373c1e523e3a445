"""What an order's admin page shows beside its read model row: the order's story (every event of
it, in log order), its lines as a table, its shipping address, and the charges that failed.

HTML is built here with `format_html`, which escapes every value: order data comes from partners.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from django.apps import apps
from django.db.models import Q
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from eventstore import components
from eventstore.models import Delivery, Event, ParkedMessage, ProcessedEvent

from .models import OrderSummary

#: How a time is shown on the page (UTC, as the log stores it).
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
#: The event billing records when the provider refuses a charge (billing.domain.PaymentDeclined;
#: a component names another's events by their type only).
PAYMENT_DECLINED = "PaymentDeclined"


def order_story(summary: OrderSummary) -> list[Event]:
    """Every event of the order, in log order: its streams (each installed component's), and every
    event of the flows that touched them (the raw input messages, the order, its cancel, the
    warehouse's updates). Read once per page: kept on the row for the page's other parts."""
    if "_story" not in summary.__dict__:
        streams = [f"{category}-{summary.order_id}" for category in components.order_streams()]
        flows = set(Event.objects.filter(stream_id__in=streams).values_list("correlation_id", flat=True))
        summary.__dict__["_story"] = list(
            Event.objects.filter(Q(stream_id__in=streams) | Q(correlation_id__in=flows)).order_by(
                "transaction_id", "position"
            )
        )
    return summary.__dict__["_story"]


def product_names(skus: Iterable[str]) -> dict[str, str]:
    """The catalog's name of each of these skus that it has.

    The catalog is the read side's (`readside.Product`), and a component imports nothing of the
    read side (tests/test_architecture.py): the model is looked up by name, and a shop without
    the read side installed shows the skus alone.
    """
    if not apps.is_installed("readside"):
        return {}
    product = apps.get_model("readside", "Product")
    return dict(product.objects.filter(sku__in=set(skus)).values_list("sku", "name"))


def money(amount: Decimal | None) -> str:
    return "" if amount is None else f"{amount:,.2f}"


def lines_table(summary: OrderSummary) -> SafeString:
    """The order's lines: product, sku, quantity, unit price and line total, with the order's total."""
    if not summary.lines:
        return format_html('<p class="order-empty">{}</p>', "No lines: the order has not been placed yet.")
    names = product_names(line["sku"] for line in summary.lines)
    rows = []
    for line in summary.lines:
        unit_price = Decimal(line["unit_price"])
        rows.append(
            (
                names.get(line["sku"], "—"),
                line["sku"],
                line["quantity"],
                money(unit_price),
                money(unit_price * line["quantity"]),
            )
        )
    body = format_html_join(
        "",
        '<tr><td>{}</td><td class="order-sku">{}</td><td class="num">{}</td><td class="num">{}</td>'
        '<td class="num">{}</td></tr>',
        rows,
    )
    currency = summary.currency
    return format_html(
        '<div class="order-table-box"><table class="order-lines"><thead><tr><th scope="col">Product</th>'
        '<th scope="col">SKU</th><th scope="col" class="num">Quantity</th>'
        '<th scope="col" class="num">Unit price</th><th scope="col" class="num">Line total</th>'
        '</tr></thead><tbody>{}</tbody><tfoot><tr><th scope="row" colspan="4">Total</th>'
        '<td class="num">{}</td></tr></tfoot></table></div><p class="order-note">Amounts in {}.</p>',
        body,
        money(summary.total),
        currency or "the order's currency",
    )


def shipping_address(summary: OrderSummary) -> SafeString:
    """The address the order ships to, on its lines: street, postcode and city, country."""
    parts = [
        summary.shipping_line1,
        " ".join(part for part in (summary.shipping_postcode, summary.shipping_city) if part),
        summary.shipping_country,
    ]
    shown = [part for part in parts if part]
    if not shown:
        return format_html('<p class="order-empty">{}</p>', "No address: the order has not been placed yet.")
    return format_html(
        '<address class="order-address">{}</address>', format_html_join("", "<span>{}</span>", ((p,) for p in shown))
    )


def failed_charges(summary: OrderSummary) -> SafeString:
    """The charges of the order that failed: each decline the provider gave (from the order's story:
    its time and reason), and the work on the order's events that is failing now, retried or
    parked (a charge the provider could not take, for one: the last error and the next attempt)."""
    story = order_story(summary)
    declined = [
        (event.recorded_at.strftime(TIME_FORMAT), "Declined", event.data.get("reason") or "")
        for event in story
        if event.event_type == PAYMENT_DECLINED
    ]
    event_ids = [event.event_id for event in story]
    deliveries = list(Delivery.objects.filter(event_id__in=event_ids, failures__gt=0).order_by("next_attempt_at"))
    # A delivery keeps its failure count once handled (eventstore.consumers.status): those handled
    # since say so, rather than "retrying" for ever.
    handled = set(
        ProcessedEvent.objects.filter(event_id__in=[d.event_id for d in deliveries]).values_list("group", "event_id")
    )
    failing = [
        (
            f"next attempt {delivery.next_attempt_at:{TIME_FORMAT}}"
            if (delivery.group, delivery.event_id) not in handled
            else "",
            f"{delivery.group}: failed {delivery.failures} time{'s' if delivery.failures != 1 else ''}, "
            + ("then handled" if (delivery.group, delivery.event_id) in handled else "retrying"),
            delivery.last_error,
        )
        for delivery in deliveries
    ]
    parked = [
        (parked.parked_at.strftime(TIME_FORMAT), f"{parked.group}: parked", parked.reason)
        for parked in ParkedMessage.objects.filter(event_id__in=event_ids).order_by("parked_at")
    ]
    attempts = declined + parked + failing
    if not attempts:
        return format_html('<p class="order-empty">{}</p>', "None: no charge or other work on this order failed.")
    return format_html(
        '<div class="order-table-box"><table class="order-failures"><thead><tr><th scope="col">When (UTC)</th>'
        '<th scope="col">What</th><th scope="col">Reason</th></tr></thead><tbody>{}</tbody></table></div>',
        format_html_join("", '<tr><td>{}</td><td>{}</td><td class="order-reason">{}</td></tr>', attempts),
    )
