"""Orders' raw events to billing's commands; unreadable content is a permanent failure."""

from decimal import Decimal

import pytest

from billing.adapters import capture_payment_from_order_placed, refund_payment_from_order_cancelled
from billing.domain import CapturePayment, RefundPayment
from eventstore.consumers import PermanentFailure

PLACED = {"order_id": "o-1", "currency": "EUR", "total": "39.80", "payment_token": "tok_ok", "lines": []}


def test_order_placed_gives_a_capture_of_its_total():
    assert capture_payment_from_order_placed(PLACED) == CapturePayment("o-1", Decimal("39.80"), "EUR", "tok_ok")


def test_order_cancelled_gives_a_refund():
    data = {"order_id": "o-1", "reason": "changed my mind"}
    assert refund_payment_from_order_cancelled(data) == RefundPayment("o-1", "changed my mind")


@pytest.mark.parametrize("total", ["lots", "-1.00", "NaN", 39.8, None])
def test_a_total_that_is_not_a_non_negative_decimal_string_is_refused(total):
    with pytest.raises(PermanentFailure, match="total must be a non-negative decimal string"):
        capture_payment_from_order_placed({**PLACED, "total": total})


@pytest.mark.parametrize("name", ["order_id", "currency", "payment_token"])
def test_a_missing_or_empty_field_is_refused(name):
    with pytest.raises(PermanentFailure, match=f"{name} must be a non-empty string"):
        capture_payment_from_order_placed({**PLACED, name: ""})
    with pytest.raises(PermanentFailure, match=f"{name} must be a non-empty string"):
        capture_payment_from_order_placed({k: v for k, v in PLACED.items() if k != name})


def test_a_cancel_without_a_reason_is_still_refunded():
    assert refund_payment_from_order_cancelled({"order_id": "o-1"}) == RefundPayment("o-1", "")


def test_a_cancel_without_order_id_is_refused():
    with pytest.raises(PermanentFailure, match="order_id"):
        refund_payment_from_order_cancelled({"reason": "x"})
