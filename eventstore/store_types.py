"""The event store's values and errors: expected versions, events to append and as recorded,
checkpoints, and what an append can raise. `eventstore.store` exports them all; import them from there.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple, TypedDict


class _ExpectedVersion(str):
    """A named expected-version form (ANY, NO_STREAM, STREAM_EXISTS)."""


ANY = _ExpectedVersion("any")
NO_STREAM = _ExpectedVersion("no_stream")
STREAM_EXISTS = _ExpectedVersion("stream_exists")

ExpectedVersion = int | _ExpectedVersion


def check_expected_version(expected: ExpectedVersion) -> None:
    """Refuse what is not an expected version, before anything is written."""
    if isinstance(expected, bool) or not isinstance(expected, int | _ExpectedVersion):
        raise TypeError(f"expected_version must be an int, ANY, NO_STREAM or STREAM_EXISTS, not {expected!r}.")
    if isinstance(expected, int) and expected < 0:
        raise ValueError("An exact expected version is 0 or more; use NO_STREAM for a new stream.")


class EventStoreError(Exception):
    """Base of the event store's errors."""


class ConcurrencyError(EventStoreError):
    """Another writer got there first; reload and retry in a new transaction."""


class WrongExpectedVersion(ConcurrencyError):
    def __init__(self, stream_id: str, expected: ExpectedVersion, actual: int) -> None:
        self.stream_id, self.expected, self.actual = stream_id, expected, actual
        shown = "no stream" if actual < 0 else actual
        super().__init__(f"Stream {stream_id!r}: expected version {expected}, actual version {shown}.")


class TransactionOrderConflict(ConcurrencyError):
    def __init__(self, stream_id: str) -> None:
        self.stream_id = stream_id
        super().__init__(
            f"Stream {stream_id!r}: its last event was written by a transaction that began writing after "
            "this one; make the append the first write of its transaction and retry in a new transaction."
        )


class DuplicateEventId(EventStoreError):
    def __init__(self, event_ids: Sequence[uuid.UUID]) -> None:
        self.event_ids = tuple(event_ids)
        ids = ", ".join(str(i) for i in self.event_ids)
        super().__init__(f"Event ids already used elsewhere in the log: {ids}.")


def category_of(stream_id: str) -> str:
    """The category of a stream: the part of its id before the first `-`."""
    return stream_id.split("-", 1)[0]


@dataclass(frozen=True, slots=True)
class NewEvent:
    """An event to append. `data` and `metadata` must be JSON objects (money as strings)."""

    event_type: str
    data: dict[str, Any]
    metadata: dict[str, Any] = field(default_factory=dict)
    event_id: uuid.UUID = field(default_factory=uuid.uuid4)


class Checkpoint(NamedTuple):
    """A place in the global log: events are read strictly after it."""

    transaction_id: int
    position: int


#: Before the first event of the log.
START = Checkpoint(-1, 0)


class LogQuery(TypedDict, total=False):
    """The arguments of a global read (`EventStore.read_all` names and explains them)."""

    after: Checkpoint
    categories: Iterable[str] | None
    event_types: Iterable[str] | None
    limit: int | None


class LogEntry(NamedTuple):
    """An event's place in the log, id and flow, without its data (`EventStore.scan_all`)."""

    checkpoint: Checkpoint
    event_id: uuid.UUID
    correlation_id: str


@dataclass(frozen=True, slots=True)
class RecordedEvent:
    position: int
    transaction_id: int
    stream_id: str
    version: int
    event_id: uuid.UUID
    event_type: str
    data: dict[str, Any]
    metadata: dict[str, Any]
    recorded_at: datetime

    @property
    def checkpoint(self) -> Checkpoint:
        return Checkpoint(self.transaction_id, self.position)

    @property
    def category(self) -> str:
        return category_of(self.stream_id)

    @property
    def correlation_id(self) -> str:
        return self.metadata["correlation_id"]

    @property
    def causation_id(self) -> str | None:
        return self.metadata.get("causation_id")


@dataclass(frozen=True, slots=True)
class AppendResult:
    stream_id: str
    #: The version of the last event now in the stream: the expected version for the next append.
    version: int
    #: Positions of the events written (empty for an idempotent repeat).
    positions: tuple[int, ...]


def caused_by(cause: RecordedEvent, **extra: Any) -> dict[str, Any]:
    """Metadata for an event caused by `cause`: same correlation id, `cause` as causation."""
    return {**extra, "correlation_id": cause.correlation_id, "causation_id": str(cause.event_id)}


class Appended(NamedTuple):
    """An event just appended, as announced to listeners after its transaction commits."""

    event_id: uuid.UUID
    stream_id: str
    event_type: str
    correlation_id: str
    metadata: dict[str, Any]

    @property
    def category(self) -> str:
        return category_of(self.stream_id)
