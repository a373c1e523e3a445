"""What the webhooks reactions are given, built in one place (a test builds its own)."""

from __future__ import annotations

from dataclasses import dataclass

from eventstore.store import EventStore


@dataclass(frozen=True)
class Dependencies:
    #: Read for an order's earlier events (the reactions append nothing).
    store: EventStore


def build() -> Dependencies:
    return Dependencies(store=EventStore())
