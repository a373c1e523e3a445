"""The payment provider billing talks to: its interface, its answers, and the fake provider.

A real provider (an HTTP client) implements `PaymentGateway` and is named by the setting
`BILLING_PAYMENT_GATEWAY`. Every call carries an idempotency key: the provider answers a repeated
key with its first answer, so a handler retried after a crash never charges or refunds twice.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Protocol, TypeVar

from django.conf import settings
from django.core.cache import caches
from django.utils.module_loading import import_string

from .domain import Charge, Refund

DEFAULT_GATEWAY = "billing.payment_gateway.FakePaymentGateway"

Answer = TypeVar("Answer")


class PaymentGatewayUnavailable(Exception):
    """The provider could not be reached or did not answer; try again later with the same key."""


class PaymentGateway(Protocol):
    def charge(self, *, idempotency_key: str, amount: Decimal, currency: str, token: str) -> Charge: ...

    def refund(self, *, idempotency_key: str, charge_ref: str, amount: Decimal, currency: str) -> Refund: ...


def payment_gateway() -> PaymentGateway:
    """The configured provider, read at call time (settings are never read at import)."""
    return import_string(getattr(settings, "BILLING_PAYMENT_GATEWAY", DEFAULT_GATEWAY))()


class FakePaymentGateway:
    """A provider for development and tests, decided by the card token.

    `tok_ok` captures; `tok_flaky` is unavailable on the first two attempts of a key, then captures;
    `tok_decline` and any other token decline. Its memory is the cache `payment_provider`, as a real
    provider's is its own: shared by every worker process, untouched when a handler's transaction
    rolls back, and (when FAKE_PAYMENT_PROVIDER_CACHE_URL names a Redis of its own) kept when the
    shop's Redis restarts empty.
    """

    prefix = "billing:fake-gateway"
    flaky_failures = 2

    def charge(self, *, idempotency_key: str, amount: Decimal, currency: str, token: str) -> Charge:
        cache = caches["payment_provider"]
        key = f"{self.prefix}:charge:{idempotency_key}"
        if token == "tok_flaky" and (answered := cache.get(key)) is not None:
            return answered  # answered before: no more attempts to count
        if token == "tok_flaky":
            attempts_key = f"{self.prefix}:attempts:{idempotency_key}"
            cache.add(attempts_key, 0, timeout=None)
            if cache.incr(attempts_key) <= self.flaky_failures:
                raise PaymentGatewayUnavailable(f"Payment provider unavailable (charge {idempotency_key!r}).")
        if token in ("tok_ok", "tok_flaky"):
            charge = Charge(captured=True, provider_ref=f"ch_{uuid.uuid4().hex}")
        else:
            charge = Charge(captured=False, decline_reason="card declined")
        return self._first_answer(key, charge)

    def refund(self, *, idempotency_key: str, charge_ref: str, amount: Decimal, currency: str) -> Refund:
        key = f"{self.prefix}:refund:{idempotency_key}"
        return self._first_answer(key, Refund(provider_ref=f"re_{uuid.uuid4().hex}"))

    def _first_answer(self, key: str, answer: Answer) -> Answer:
        # The first answer stored for a key is the answer, for every later call and for two
        # processes answering at once: a repeated key is never a second charge. One cache call
        # when the key is new.
        cache = caches["payment_provider"]
        if cache.add(key, answer, timeout=None):
            return answer
        return cache.get(key, answer)
