"""The payment, with no database: given past events, when a behaviour, then new events (or an error)."""

from decimal import Decimal

import pytest

from billing.domain import (
    CapturePayment,
    Charge,
    Payment,
    PaymentCaptured,
    PaymentDeclined,
    PaymentNotSettled,
    PaymentRefunded,
    Refund,
    RefundPayment,
)

CAPTURED = PaymentCaptured("o-1", Decimal("39.80"), "EUR", "ch_1")
DECLINED = PaymentDeclined("o-1", "card declined")
REFUNDED = PaymentRefunded("o-1", Decimal("39.80"), "EUR", "re_1")
CAPTURE = CapturePayment("o-1", Decimal("39.80"), "EUR", "tok_ok")
REFUND = RefundPayment("o-1", "changed my mind")


def given(*events: object) -> Payment:
    payment = Payment("o-1")
    payment.replay(list(events), up_to_version=len(events) - 1)
    return payment


def settle_captured(payment: Payment, provider_ref: str = "ch_1") -> None:
    payment.settle(CAPTURE, Charge(captured=True, provider_ref=provider_ref))


def test_a_payment_lives_in_the_stream_named_by_the_order_id():
    assert Payment("o-1").stream_id == "payment-o-1"


def test_a_captured_charge_records_payment_captured():
    payment = given()
    settle_captured(payment)
    assert payment.pending_events() == [CAPTURED]


def test_a_declined_charge_records_payment_declined_with_the_reason():
    payment = given()
    payment.settle(CAPTURE, Charge(captured=False, decline_reason="card declined"))
    assert payment.pending_events() == [DECLINED]


def test_a_captured_charge_without_a_provider_reference_is_refused():
    payment = given()
    with pytest.raises(ValueError, match="provider reference"):
        payment.settle(CAPTURE, Charge(captured=True))
    assert payment.pending_events() == []


@pytest.mark.parametrize("past", [CAPTURED, DECLINED], ids=["captured", "declined"])
def test_a_repeated_capture_records_nothing(past):
    payment = given(past)
    assert not payment.charge_due()
    settle_captured(payment, provider_ref="ch_2")
    assert payment.pending_events() == []


def test_a_refund_after_capture_records_payment_refunded_of_the_captured_amount():
    payment = given(CAPTURED)
    assert payment.refund_due()
    payment.refund(REFUND, Refund("re_1"))
    assert payment.pending_events() == [REFUNDED]


def test_a_refund_after_decline_records_nothing():
    payment = given(DECLINED)
    assert not payment.refund_due()
    payment.refund(REFUND, Refund("re_1"))
    assert payment.pending_events() == []


def test_a_refund_twice_records_it_once():
    payment = given(CAPTURED)
    payment.refund(REFUND, Refund("re_1"))
    payment.refund(REFUND, Refund("re_2"))
    assert payment.pending_events() == [REFUNDED]
    assert given(CAPTURED, REFUNDED).refund_due() is False


def test_a_refund_before_the_charge_is_settled_raises_the_transient_error():
    payment = given()
    with pytest.raises(PaymentNotSettled, match="retry"):
        payment.refund(REFUND, Refund("re_1"))
    assert payment.pending_events() == []


def test_a_captured_payment_survives_a_snapshot():
    payment = given(CAPTURED)
    restored = Payment("o-1")
    restored.restore_state(payment.snapshot_state())
    assert (restored.status, restored.amount, restored.provider_ref) == ("captured", Decimal("39.80"), "ch_1")
