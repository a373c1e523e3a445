"""A small aggregate for testing the mechanics: standard library only, like every domain module."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from eventstore.aggregate import Aggregate


class InsufficientFunds(Exception):
    pass


@dataclass(frozen=True)
class Opened:
    owner: str
    opened_at: datetime


@dataclass(frozen=True)
class Entry:
    amount: Decimal
    note: str = ""


@dataclass(frozen=True)
class Deposited:
    entry: Entry


@dataclass(frozen=True)
class Withdrawn:
    entries: tuple[Entry, ...]


class Account(Aggregate):
    category = "account"
    event_types = (Opened, Deposited, Withdrawn)

    def __init__(self, aggregate_id: str) -> None:
        super().__init__(aggregate_id)
        self.owner: str | None = None
        self.balance = Decimal("0")
        self.last: Entry | None = None
        self.notes: set[str] = set()

    def open(self, owner: str, at: datetime) -> None:
        if self.owner is not None:
            raise ValueError("Already open.")
        self.record(Opened(owner, at))

    def deposit(self, amount: Decimal, note: str = "") -> None:
        if amount <= 0:
            raise ValueError("Deposit a positive amount.")
        self.record(Deposited(Entry(amount, note)))

    def withdraw(self, *amounts: Decimal) -> None:
        if sum(amounts) > self.balance:
            raise InsufficientFunds(f"Balance {self.balance} is less than {sum(amounts)}.")
        self.record(Withdrawn(tuple(Entry(a) for a in amounts)))

    def apply(self, event: object) -> None:
        match event:
            case Opened(owner=owner):
                self.owner = owner
            case Deposited(entry=entry):
                self.balance += entry.amount
                self.last = entry
                if entry.note:
                    self.notes.add(entry.note)
            case Withdrawn(entries=entries):
                self.balance -= sum(e.amount for e in entries)
                self.last = entries[-1]
