"""Billing's commands: load the payment, ask the provider, let the payment decide, save.

The provider is asked with no transaction open (`call_outside`): a handler's transaction held
across the call would hold back every reader of the log for as long as the provider takes.
"""

from __future__ import annotations

from typing import Any

from eventstore.consumers.handling import call_outside
from eventstore.repository import Repository

from .domain import CapturePayment, Payment, RefundPayment
from .payment_gateway import PaymentGateway


def capture_payment(
    command: CapturePayment, *, payments: Repository[Payment], gateway: PaymentGateway, metadata: dict[str, Any]
) -> None:
    payment = payments.load(command.order_id)
    if not payment.charge_due():
        return  # captured or declined already: the provider is not asked again
    # The order id as idempotency key: a charge retried after a failure is never a second charge.
    charge = call_outside(
        f"charge {command.order_id}",
        lambda: gateway.charge(
            idempotency_key=command.order_id, amount=command.amount, currency=command.currency, token=command.token
        ),
    )
    payment.settle(command, charge)
    payments.save(payment, metadata=metadata)


def refund_payment(
    command: RefundPayment, *, payments: Repository[Payment], gateway: PaymentGateway, metadata: dict[str, Any]
) -> None:
    payment = payments.load(command.order_id)
    if not payment.refund_due():  # raises PaymentNotSettled while the charge's outcome is unknown
        return
    refund = call_outside(
        f"refund {command.order_id}",
        lambda: gateway.refund(
            idempotency_key=f"refund-{command.order_id}",
            charge_ref=payment.provider_ref,
            amount=payment.amount,
            currency=payment.currency,
        ),
    )
    payment.refund(command, refund)
    payments.save(payment, metadata=metadata)
