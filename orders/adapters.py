"""Raw shop-input messages to order commands (docs/design.md 6.2): one function per raw shape.

A message that cannot be mapped, or whose content is invalid, raises PermanentFailure with the
reason; it is parked, since no retry can change it. Fields the contract does not name (a client
total, a status) are never read.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from eventstore.consumers import PermanentFailure

from .domain import Address, CancelOrder, Customer, InvalidOrder, OrderLine, PlaceOrder

# A plain decimal string: "19.90", "-1", never "1e3", " 19.9", "NaN" or "1_000".
_DECIMAL = re.compile(r"-?\d+(\.\d+)?")
# Types named as JSON names them: the sender wrote JSON, not Python.
_TYPE_NAMES = {str: "a string", int: "an integer", dict: "an object", list: "a list"}
_JSON_NAMES = {str: "string", int: "integer", float: "number", bool: "boolean", dict: "object", list: "list"}


def command_for(
    *, applies: str | None, source: str | None, body: dict[str, Any], message_id: str, partner: str | None
) -> PlaceOrder | CancelOrder | None:
    """The command a shop-input message asks of orders, or None when the message is not for orders.

    A PermanentFailure names the order the message meant, when it says one, so its sender can find it.
    """
    if applies != "order":
        return None
    try:
        return _command_for(source=source, body=body, message_id=message_id, partner=partner)
    except PermanentFailure as failure:
        raise PermanentFailure(failure.reason, subject=_stated_order_id(source, body, message_id)) from failure


def command_for_message(message: Any) -> PlaceOrder | CancelOrder:
    """The command of a raw input message (a RecordedEvent) that applies to orders."""
    metadata = message.metadata
    command = command_for(
        applies=metadata.get("applies"),
        source=metadata.get("source"),
        body=message.data,
        message_id=str(message.event_id),
        partner=metadata.get("partner"),
    )
    if command is None:
        raise PermanentFailure(f"Not a message for orders (applies {metadata.get('applies')!r}).")
    return command


def order_id_of(data: dict[str, Any]) -> str:
    """The order id of another component's event about an order (ShipmentDispatched)."""
    return data["order_id"]


def _stated_order_id(source: str | None, body: dict[str, Any], message_id: str) -> str | None:
    """The order id a message names, valid or not, if it names one as a string."""
    if "action" not in body and source == "marketplace":
        stated = body.get("ref")
    elif "action" not in body and source == "web" and "order_id" not in body:
        stated = message_id
    else:
        stated = body.get("order_id")
    return stated if isinstance(stated, str) else None


def _command_for(
    *, source: str | None, body: dict[str, Any], message_id: str, partner: str | None
) -> PlaceOrder | CancelOrder:
    if "action" in body:
        action = body["action"]
        if action != "cancel":
            raise PermanentFailure(f"Unknown order action {action!r}.")
        return cancel_order(body, source=source)
    if source == "web":
        return web_order(body, message_id=message_id, partner=partner)
    if source == "marketplace":
        return marketplace_order(body, partner=partner)
    raise PermanentFailure(f"No order shape for source {source!r}.")


def web_order(body: dict[str, Any], *, message_id: str, partner: str | None) -> PlaceOrder:
    """The web shape. Without an order_id the message's id is the order's, so a redelivery is the same order."""
    order_id = body.get("order_id")
    lines = [
        OrderLine(
            sku=_field(item, "sku", str, at=f"lines[{i}]"),
            quantity=_field(item, "quantity", int, at=f"lines[{i}]"),
            unit_price=_decimal(_field(item, "unit_price", str, at=f"lines[{i}]"), at=f"lines[{i}].unit_price"),
        )
        for i, item in enumerate(_field(body, "lines", list))
    ]
    return _valid(
        PlaceOrder,
        order_id=message_id if order_id is None else _field(body, "order_id", str),
        partner=partner,
        source="web",
        customer=Customer(email=_field(body, "customer.email", str), name=_field(body, "customer.name", str)),
        lines=tuple(lines),
        currency=_field(body, "currency", str),
        shipping_address=Address(
            line1=_field(body, "shipping_address.line1", str),
            city=_field(body, "shipping_address.city", str),
            postcode=_field(body, "shipping_address.postcode", str),
            country=_field(body, "shipping_address.country", str),
        ),
        payment_token=_field(body, "payment.token", str),
    )


def marketplace_order(body: dict[str, Any], *, partner: str | None) -> PlaceOrder:
    """The marketplace shape: other names, prices in integer cents."""
    lines = [
        OrderLine(
            sku=_field(item, "product_code", str, at=f"items[{i}]"),
            quantity=_field(item, "qty", int, at=f"items[{i}]"),
            # scaleb keeps the cents: 1990 -> 19.90, not 19.9.
            unit_price=Decimal(_field(item, "price_cents", int, at=f"items[{i}]")).scaleb(-2),
        )
        for i, item in enumerate(_field(body, "items", list))
    ]
    return _valid(
        PlaceOrder,
        order_id=_field(body, "ref", str),
        partner=partner,
        source="marketplace",
        customer=Customer(email=_field(body, "buyer.mail", str), name=_field(body, "buyer.full_name", str)),
        lines=tuple(lines),
        currency=_field(body, "currency", str),
        shipping_address=Address(
            line1=_field(body, "ship_to.street", str),
            city=_field(body, "ship_to.town", str),
            postcode=_field(body, "ship_to.zip", str),
            country=_field(body, "ship_to.country_code", str),
        ),
        payment_token=_field(body, "paid.token", str),
    )


def cancel_order(body: dict[str, Any], *, source: str | None) -> CancelOrder:
    """A cancel, from any source; the source says who asked for it."""
    return _valid(
        CancelOrder,
        order_id=_field(body, "order_id", str),
        reason=_field(body, "reason", str),
        requested_by=requester_of(source),
    )


def requester_of(source: str | None) -> str:
    """Who asks through a source: the web shop speaks for its customer, the `staff` source for
    staff (the gateway allows it to staff only), any other source for the partner that posts it."""
    return {"web": "customer", "staff": "staff"}.get(source or "", "partner")


def _valid(command_type: type, **fields: Any) -> Any:
    try:
        return command_type(**fields)
    except InvalidOrder as invalid:
        raise PermanentFailure(str(invalid)) from invalid


def _field(data: Any, path: str, kind: type, *, at: str = "") -> Any:
    """The value at a dotted `path` in `data`, which must be of `kind`; `at` prefixes the path in messages."""
    shown = f"{at}.{path}" if at else path
    value = data
    for key in path.split("."):
        if not isinstance(value, dict) or key not in value:
            raise PermanentFailure(f"Missing field {shown!r}.")
        value = value[key]
    # bool is an int in Python, but not in the contract.
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise PermanentFailure(
            f"Field {shown!r} must be {_TYPE_NAMES[kind]}, not {_JSON_NAMES.get(type(value), 'null')}."
        )
    return value


def _decimal(text: str, *, at: str) -> Decimal:
    if not _DECIMAL.fullmatch(text):
        raise PermanentFailure(f"Field {at!r} must be a decimal amount such as '19.90', not {text!r}.")
    return Decimal(text)
