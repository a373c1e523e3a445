"""Billing's domain: the payment of one order. Standard library only.

The payment provider is asked by the service; the aggregate takes the command and the provider's
answer (`Charge`, `Refund`) and decides what they mean, so the same answer given twice records
nothing the second time.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from eventstore.aggregate import Aggregate

# --- commands -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CapturePayment:
    order_id: str
    amount: Decimal
    currency: str
    token: str


@dataclass(frozen=True)
class RefundPayment:
    order_id: str
    reason: str


# --- the provider's answers (payment_gateway.PaymentGateway gives them) ----------------------------


@dataclass(frozen=True)
class Charge:
    """The provider's answer to a charge: captured with a reference, or declined with a reason."""

    captured: bool
    provider_ref: str | None = None
    decline_reason: str | None = None


@dataclass(frozen=True)
class Refund:
    provider_ref: str


# --- events -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PaymentCaptured:
    order_id: str
    amount: Decimal
    currency: str
    provider_ref: str


@dataclass(frozen=True)
class PaymentDeclined:
    order_id: str
    reason: str


@dataclass(frozen=True)
class PaymentRefunded:
    order_id: str
    amount: Decimal
    currency: str
    provider_ref: str


# --- errors -------------------------------------------------------------------------------------


class PaymentNotSettled(Exception):
    """A refund asked for before the charge's outcome is known. Transient: the order's events may be
    handled out of order (its cancel before its placing), so the refund is retried later."""

    def __init__(self, order_id: str) -> None:
        self.order_id = order_id
        super().__init__(
            f"Payment for order {order_id!r} is neither captured nor declined yet; retry the refund later."
        )


# --- the aggregate ------------------------------------------------------------------------------

NEW, CAPTURED, DECLINED, REFUNDED = "new", "captured", "declined", "refunded"


class Payment(Aggregate):
    """The payment of an order; its id is the order id."""

    category = "payment"
    event_types = (PaymentCaptured, PaymentDeclined, PaymentRefunded)

    def __init__(self, aggregate_id: str) -> None:
        super().__init__(aggregate_id)
        self.status = NEW
        self.amount: Decimal | None = None
        self.currency: str | None = None
        #: The provider's reference of the capture, which a refund names.
        self.provider_ref: str | None = None

    def charge_due(self) -> bool:
        """Whether the order is still to be charged: neither captured nor declined before."""
        return self.status == NEW

    def refund_due(self) -> bool:
        """Whether a captured amount is still to be refunded.

        Raises `PaymentNotSettled` while the charge's outcome is unknown.
        """
        if self.status == NEW:
            raise PaymentNotSettled(self.id)
        return self.status == CAPTURED

    def settle(self, command: CapturePayment, charge: Charge) -> None:
        """Record the provider's answer to the charge; a payment already settled records nothing."""
        if not self.charge_due():
            return
        if charge.captured:
            if not charge.provider_ref:
                raise ValueError("A captured charge has a provider reference.")
            self.record(PaymentCaptured(self.id, command.amount, command.currency, charge.provider_ref))
        else:
            self.record(PaymentDeclined(self.id, charge.decline_reason or "declined"))

    def refund(self, command: RefundPayment, refund: Refund) -> None:
        """Record the provider's refund of the captured amount; nothing if there is none to refund."""
        if not self.refund_due():
            return
        self.record(PaymentRefunded(self.id, self.amount, self.currency, refund.provider_ref))

    def apply(self, event: object) -> None:
        match event:
            case PaymentCaptured(amount=amount, currency=currency, provider_ref=provider_ref):
                self.status, self.amount, self.currency, self.provider_ref = CAPTURED, amount, currency, provider_ref
            case PaymentDeclined():
                self.status = DECLINED
            case PaymentRefunded():
                self.status = REFUNDED
