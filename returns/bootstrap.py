"""What the returns reactions are given, built in one place (a test builds its own)."""

from __future__ import annotations

from dataclasses import dataclass

from eventstore.repository import Repository
from eventstore.store import EventStore

from .domain import Return


@dataclass(frozen=True)
class Dependencies:
    returns: Repository[Return]


def build() -> Dependencies:
    return Dependencies(returns=Repository(Return, store=EventStore()))
