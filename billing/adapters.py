"""Other components' events (orders', returns'), read as raw JSON, turned into billing's commands.

Billing imports no other component: it reads the contract's JSON shapes, and an event it cannot read
is refused for good (`PermanentFailure`), since retrying would not change it.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from eventstore.consumers import PermanentFailure

from .domain import CapturePayment, RefundPayment


def capture_payment_from_order_placed(data: dict[str, Any]) -> CapturePayment:
    """OrderPlaced: {"order_id", "total": "39.80", "currency", "payment_token", ...}."""
    return CapturePayment(
        order_id=_text(data, "order_id"),
        amount=_amount(data, "total"),
        currency=_text(data, "currency"),
        token=_text(data, "payment_token"),
    )


def refund_payment_from_order_cancelled(data: dict[str, Any]) -> RefundPayment:
    """OrderCancelled: {"order_id", "reason"}."""
    # The reason is only informative here: a cancel with an empty one is still refunded.
    reason = data.get("reason")
    return RefundPayment(order_id=_text(data, "order_id"), reason=reason if isinstance(reason, str) else "")


def refund_payment_from_return_received(data: dict[str, Any]) -> RefundPayment:
    """ReturnReceived: {"order_id"}: the goods are back, the payment is refunded."""
    return RefundPayment(order_id=_text(data, "order_id"), reason="returned")


def _text(data: dict[str, Any], name: str) -> str:
    value = data.get(name)
    if not isinstance(value, str) or not value:
        raise PermanentFailure(f"{name} must be a non-empty string, not {value!r}.")
    return value


def _amount(data: dict[str, Any], name: str) -> Decimal:
    value = data.get(name)
    try:
        amount = Decimal(value) if isinstance(value, str) else None  # a float would be inexact money
    except InvalidOperation:
        amount = None
    if amount is None or not amount.is_finite() or amount < 0:
        raise PermanentFailure(f"{name} must be a non-negative decimal string, not {value!r}.")
    return amount
