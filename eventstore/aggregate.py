"""The base of every aggregate. Standard library only: domain modules build on it without Django.

An aggregate is rebuilt by folding the events of its stream through `apply`, and changes only by
recording new events, which `apply` folds in the same way::

    @dataclass(frozen=True)
    class Deposited:
        amount: Decimal

    class Account(Aggregate):
        category = "account"
        event_types = (Deposited,)

        def __init__(self, aggregate_id: str) -> None:
            super().__init__(aggregate_id)
            self.balance = Decimal("0")

        def deposit(self, amount: Decimal) -> None:      # a behaviour: decide, then record
            if amount <= 0:
                raise ValueError("Deposit a positive amount.")
            self.record(Deposited(amount))

        def apply(self, event) -> None:                   # state changes here only
            match event:
                case Deposited(amount=amount):
                    self.balance += amount

`eventstore.repository.Repository` loads and saves aggregates with the expected version, and takes
snapshots of their state (`snapshot_state`, `restore_state`).
"""

from __future__ import annotations

from typing import Any, ClassVar

from eventstore import codec


class Aggregate:
    #: The stream category: an aggregate with id "42" lives in the stream "<category>-42".
    category: ClassVar[str]
    #: The event classes this aggregate records; their class names are the stored event types.
    event_types: ClassVar[tuple[type, ...]] = ()
    #: Raise when the state's shape changes, so that older snapshots are ignored.
    snapshot_schema: ClassVar[int] = 1

    def __init__(self, aggregate_id: str) -> None:
        self.id = aggregate_id
        #: The version of the last event folded in (-1: nothing yet), recorded ones included.
        self.version = -1
        self._pending: list[Any] = []

    @property
    def stream_id(self) -> str:
        return f"{self.category}-{self.id}"

    def apply(self, event: Any) -> None:
        """Change the state by one event. Every subclass implements it."""
        raise NotImplementedError(f"{type(self).__name__} must implement apply().")

    def record(self, event: Any) -> None:
        """Fold a new event in and keep it for the repository to append."""
        self.apply(event)
        self.version += 1
        self._pending.append(event)

    def replay(self, events: list[Any], *, up_to_version: int) -> None:
        """Fold past events in (used by the repository)."""
        for event in events:
            self.apply(event)
        self.version = up_to_version

    def pending_events(self) -> list[Any]:
        return list(self._pending)

    def mark_saved(self) -> None:
        self._pending.clear()

    def snapshot_state(self) -> Any:
        """The state as tagged JSON. The default takes every public attribute but id and version."""
        return codec.to_tagged(
            {k: v for k, v in vars(self).items() if not k.startswith("_") and k not in ("id", "version")}
        )

    def restore_state(self, state: Any) -> None:
        """The inverse of `snapshot_state`."""
        for name, value in codec.from_tagged(state, module=type(self).__module__).items():
            setattr(self, name, value)
