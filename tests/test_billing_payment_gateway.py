"""The fake payment provider: answers decided by the token, idempotent by key, its memory in a cache of its own."""

from decimal import Decimal

import pytest
from django.core.cache import caches

from billing.payment_gateway import (
    Charge,
    FakePaymentGateway,
    PaymentGatewayUnavailable,
    Refund,
    payment_gateway,
)


def charge(gateway: FakePaymentGateway, token: str, key: str = "o-1") -> Charge:
    return gateway.charge(idempotency_key=key, amount=Decimal("39.80"), currency="EUR", token=token)


def test_tok_ok_captures_with_a_provider_reference():
    result = charge(FakePaymentGateway(), "tok_ok")
    assert result.captured and result.provider_ref and result.decline_reason is None


@pytest.mark.parametrize("token", ["tok_decline", "tok_unknown", ""])
def test_tok_decline_and_any_other_token_decline(token):
    assert charge(FakePaymentGateway(), token) == Charge(captured=False, decline_reason="card declined")


def test_tok_flaky_is_unavailable_exactly_twice_then_captures():
    gateway = FakePaymentGateway()
    for _ in range(2):
        with pytest.raises(PaymentGatewayUnavailable):
            charge(gateway, "tok_flaky")
    assert charge(gateway, "tok_flaky").captured
    assert charge(gateway, "tok_flaky").captured


def test_tok_flaky_counts_attempts_per_key():
    gateway = FakePaymentGateway()
    with pytest.raises(PaymentGatewayUnavailable):
        charge(gateway, "tok_flaky", key="o-1")
    with pytest.raises(PaymentGatewayUnavailable):
        charge(gateway, "tok_flaky", key="o-2")


def test_the_same_key_gives_the_same_answer_and_reference():
    gateway = FakePaymentGateway()
    first = charge(gateway, "tok_ok")
    assert charge(gateway, "tok_ok") == first
    assert charge(gateway, "tok_decline") == first  # a repeated key is answered, not charged again
    assert charge(gateway, "tok_ok", key="o-2").provider_ref != first.provider_ref


def test_a_key_shared_by_two_processes_is_still_one_charge():
    first = charge(FakePaymentGateway(), "tok_ok")
    assert charge(FakePaymentGateway(), "tok_ok") == first


def test_the_providers_memory_is_its_own_cache():
    first = charge(FakePaymentGateway(), "tok_ok")
    caches["payment_provider"].clear()  # the provider forgot: a new charge, as a new provider would make
    assert charge(FakePaymentGateway(), "tok_ok").provider_ref != first.provider_ref


def test_refunds_are_idempotent_by_key():
    def refund(gateway: FakePaymentGateway, key: str) -> Refund:
        return gateway.refund(idempotency_key=key, charge_ref="ch_1", amount=Decimal("39.80"), currency="EUR")

    first = refund(FakePaymentGateway(), "refund-o-1")
    assert first.provider_ref
    assert refund(FakePaymentGateway(), "refund-o-1") == first
    assert refund(FakePaymentGateway(), "refund-o-2") != first


def test_the_configured_gateway_is_the_fake_by_default(settings):
    del settings.BILLING_PAYMENT_GATEWAY
    assert isinstance(payment_gateway(), FakePaymentGateway)


class RecordingGateway(FakePaymentGateway):
    pass


def test_the_configured_gateway_is_read_at_call_time(settings):
    settings.BILLING_PAYMENT_GATEWAY = "tests.test_billing_payment_gateway.RecordingGateway"
    assert type(payment_gateway()) is RecordingGateway
