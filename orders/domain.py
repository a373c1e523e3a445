"""The order: commands, events and the Order aggregate. Standard library and pure mechanics only.

A PlaceOrder cannot be built with invalid content (it raises InvalidOrder), so the aggregate
decides only what depends on its history: placed or not, cancelled or not.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from eventstore.aggregate import Aggregate

ACCEPTED_CURRENCIES = frozenset({"EUR", "USD", "GBP", "CHF", "SEK", "DKK", "NOK", "PLN", "CZK", "JPY"})
MAX_ORDER_ID_LENGTH = 100
# What an order may carry is bounded by what the read models hold (orders.models, shipping.models):
# a value past a column would stop its projector at that event, every later order waiting behind it.
MAX_TEXT_LENGTH = 200  # the customer's name, an address line, the city, the postcode
MAX_EMAIL_LENGTH = 254
MAX_SKU_LENGTH = 100
MAX_QUANTITY = 1_000_000  # a line's; product sales add them up in a 32-bit column
MAX_TOTAL = Decimal("999999999999.99")  # the order summary's total: 14 digits, 2 of them cents
DISPATCHED_REASON = "The order has already been dispatched."
#: Who may ask for a cancel (OrderCancelled v2, `requested_by`): the customer (through the web
#: shop), staff (the admin) or a partner (a marketplace, any other source).
REQUESTERS = ("customer", "staff", "partner")
#: `requested_by` of a cancel recorded before v2, which did not say who asked (orders/upcasters.py).
UNKNOWN_REQUESTER = "unknown"


class InvalidOrder(Exception):
    """The content can never make a valid order or cancel: no retry will help."""


class OrderAlreadyPlaced(Exception):
    """An order with this id was placed before with other content: the new one is refused, as a
    business decision (an identical repeat is no error: it places nothing)."""

    def __init__(self, order_id: str) -> None:
        self.order_id = order_id
        super().__init__(
            f"Order {order_id!r} was already placed with other content; send a new order id for a new order."
        )


class OrderNotFound(Exception):
    """No order with this id has been placed, yet: deliveries can come out of order, so retry."""

    def __init__(self, order_id: str) -> None:
        self.order_id = order_id
        super().__init__(f"No order {order_id!r} has been placed.")


# --- value objects --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Customer:
    email: str
    name: str


@dataclass(frozen=True)
class Address:
    line1: str
    city: str
    postcode: str
    country: str


@dataclass(frozen=True)
class OrderLine:
    sku: str
    quantity: int
    unit_price: Decimal


# --- commands -------------------------------------------------------------------------------------


def _check_order_id(order_id: str) -> None:
    if not isinstance(order_id, str) or not 1 <= len(order_id) <= MAX_ORDER_ID_LENGTH:
        raise InvalidOrder(f"An order id must be 1 to {MAX_ORDER_ID_LENGTH} characters.")


@dataclass(frozen=True)
class PlaceOrder:
    order_id: str
    partner: str | None
    source: str
    customer: Customer
    lines: tuple[OrderLine, ...]
    currency: str
    shipping_address: Address
    payment_token: str

    def __post_init__(self) -> None:
        _check_order_id(self.order_id)
        if not self.lines:
            raise InvalidOrder("An order needs at least one line.")
        for line in self.lines:
            # bool is an int in Python, but never a quantity.
            if not isinstance(line.quantity, int) or isinstance(line.quantity, bool):
                raise InvalidOrder(f"Line {line.sku!r}: the quantity must be a whole number.")
            if line.quantity < 1:
                raise InvalidOrder(f"Line {line.sku!r}: the quantity must be at least 1, not {line.quantity}.")
            if not isinstance(line.unit_price, Decimal) or not line.unit_price.is_finite():
                raise InvalidOrder(f"Line {line.sku!r}: the unit price must be a decimal amount.")
            if line.unit_price < 0:
                raise InvalidOrder(f"Line {line.sku!r}: the unit price cannot be negative ({line.unit_price}).")
        if self.currency not in ACCEPTED_CURRENCIES:
            raise InvalidOrder(f"Unknown currency {self.currency!r}.")
        self._check_bounds()

    def _check_bounds(self) -> None:
        """Every value fits the read models: texts, quantities, cents and the total."""
        texts = {
            "the customer's name": (self.customer.name, MAX_TEXT_LENGTH),
            "the customer's email": (self.customer.email, MAX_EMAIL_LENGTH),
            "the address line": (self.shipping_address.line1, MAX_TEXT_LENGTH),
            "the city": (self.shipping_address.city, MAX_TEXT_LENGTH),
            "the postcode": (self.shipping_address.postcode, MAX_TEXT_LENGTH),
            **{f"the SKU of line {n + 1}": (line.sku, MAX_SKU_LENGTH) for n, line in enumerate(self.lines)},
        }
        for what, (text, limit) in texts.items():
            if len(text) > limit:
                raise InvalidOrder(f"{what[0].upper()}{what[1:]} is longer than {limit} characters.")
        country = self.shipping_address.country
        if not (len(country) == 2 and country.isascii() and country.isalpha()):
            raise InvalidOrder("The country must be a two-letter code (ISO 3166), such as IT.")
        for n, line in enumerate(self.lines, start=1):
            if line.quantity > MAX_QUANTITY:
                raise InvalidOrder(f"Line {n}: the quantity must be at most {MAX_QUANTITY}.")
            if line.unit_price.as_tuple().exponent < -2:
                raise InvalidOrder(f"Line {n}: the unit price has more than two decimal places.")
        if self.total > MAX_TOTAL:
            raise InvalidOrder(f"The total is over {MAX_TOTAL}.")

    @property
    def total(self) -> Decimal:
        """Computed from the lines: a total sent by the client is never trusted."""
        return sum((line.quantity * line.unit_price for line in self.lines), Decimal("0"))


@dataclass(frozen=True)
class CancelOrder:
    order_id: str
    reason: str
    requested_by: str  # one of REQUESTERS

    def __post_init__(self) -> None:
        _check_order_id(self.order_id)
        if self.requested_by not in REQUESTERS:
            raise InvalidOrder(f"A cancel is asked by one of {', '.join(REQUESTERS)}, not {self.requested_by!r}.")


# --- events ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OrderPlaced:
    order_id: str
    partner: str | None
    source: str
    customer: Customer
    lines: tuple[OrderLine, ...]
    currency: str
    total: Decimal
    shipping_address: Address
    payment_token: str


@dataclass(frozen=True)
class OrderCancelled:
    """Version 2: `requested_by` says who asked (REQUESTERS; UNKNOWN_REQUESTER for a version-1 event)."""

    order_id: str
    reason: str
    requested_by: str


@dataclass(frozen=True)
class OrderCancellationRejected:
    order_id: str
    reason: str


# --- aggregate ------------------------------------------------------------------------------------


class Order(Aggregate):
    category = "order"
    event_types = (OrderPlaced, OrderCancelled, OrderCancellationRejected)
    snapshot_schema = 2  # 2: the placement is kept, to tell a repeat from another order

    def __init__(self, aggregate_id: str) -> None:
        super().__init__(aggregate_id)
        self.placement: OrderPlaced | None = None
        self.cancelled = False
        self.cancellation_rejected = False

    @property
    def placed(self) -> bool:
        return self.placement is not None

    def place(self, command: PlaceOrder) -> None:
        """Place the order. A repeat of the same placement (a redelivery, a client retry) places
        nothing; another order under the same id raises OrderAlreadyPlaced."""
        placement = OrderPlaced(
            order_id=command.order_id,
            partner=command.partner,
            source=command.source,
            customer=command.customer,
            lines=command.lines,
            currency=command.currency,
            total=command.total,
            shipping_address=command.shipping_address,
            payment_token=command.payment_token,
        )
        if self.placement == placement:
            return
        if self.placement is not None:
            raise OrderAlreadyPlaced(command.order_id)
        self.record(placement)

    def cancel(self, command: CancelOrder, *, dispatched: bool) -> None:
        """`dispatched`: whether the goods have left the warehouse, which the order does not know itself."""
        if not self.placed:
            raise OrderNotFound(command.order_id)
        if self.cancelled or self.cancellation_rejected:
            return  # already answered: a repeat adds nothing
        if dispatched:
            self.record(OrderCancellationRejected(order_id=self.id, reason=DISPATCHED_REASON))
        else:
            self.record(OrderCancelled(order_id=self.id, reason=command.reason, requested_by=command.requested_by))

    def apply(self, event: object) -> None:
        match event:
            case OrderPlaced():
                self.placement = event
            case OrderCancelled():
                self.cancelled = True
            case OrderCancellationRejected():
                self.cancellation_rejected = True
