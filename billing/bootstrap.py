"""What the billing reactions are given, built in one place (a test builds its own)."""

from __future__ import annotations

from dataclasses import dataclass

from eventstore.repository import Repository
from eventstore.store import EventStore

from .domain import Payment
from .payment_gateway import PaymentGateway, payment_gateway


@dataclass(frozen=True)
class Dependencies:
    payments: Repository[Payment]
    gateway: PaymentGateway
    store: EventStore


def build() -> Dependencies:
    """Built for every message: the provider is the one the settings name now."""
    store = EventStore()
    return Dependencies(payments=Repository(Payment, store=store), gateway=payment_gateway(), store=store)
