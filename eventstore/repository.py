"""Load and save aggregates through the event store, with snapshots and conflict retries.

    accounts = Repository(Account, store=EventStore())

    @retry_on_conflict
    def deposit(command: Deposit, *, accounts: Repository[Account]) -> None:
        account = accounts.load(command.account_id)      # get
        account.deposit(command.amount)                  # decide
        accounts.save(account, metadata=...)             # save, with the expected version

A snapshot of the state is written, in the same transaction as the events, whenever `snapshot_every`
events (setting `EVENTSTORE_SNAPSHOT_EVERY`, default 100) have been appended since the last one, so a
load reads one snapshot and fewer than `snapshot_every` events, however long the stream.

A snapshot is folded from events in the shapes of their time. When one of the aggregate's event
types gains a version (an upcaster, eventstore.upcasting) the state folded from the new shapes may
differ, so the snapshot's schema is the aggregate's `snapshot_schema` plus the versions its event
types have gained: both only grow, so older snapshots are ignored and the next load replays the
stream, as when `snapshot_schema` is raised by hand.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Generic, NamedTuple, ParamSpec, TypeVar

from django.conf import settings
from django.db import connections, transaction

from eventstore import codec, upcasting
from eventstore.aggregate import Aggregate
from eventstore.models import Snapshot
from eventstore.store import NO_STREAM, AppendResult, ConcurrencyError, EventStore, NewEvent

A = TypeVar("A", bound=Aggregate)
P = ParamSpec("P")
R = TypeVar("R")


class _StoredSnapshot(NamedTuple):
    version: int
    state: Any


class AggregateNotFound(Exception):
    def __init__(self, stream_id: str) -> None:
        self.stream_id = stream_id
        super().__init__(f"No events in stream {stream_id!r}.")


class UnknownEventType(Exception):
    pass


class Repository(Generic[A]):
    def __init__(self, aggregate_type: type[A], *, store: EventStore, snapshot_every: int | None = None) -> None:
        self.aggregate_type = aggregate_type
        self.store = store
        self._snapshot_every = snapshot_every
        self._event_classes = {cls.__name__: cls for cls in aggregate_type.event_types}

    @property
    def snapshot_every(self) -> int:
        """Events between snapshots; 0 turns snapshots off. Read late: settings are not read at import."""
        return settings.EVENTSTORE_SNAPSHOT_EVERY if self._snapshot_every is None else self._snapshot_every

    def load(self, aggregate_id: str) -> A:
        """The aggregate rebuilt from its snapshot and stream; a new one (version -1) if none."""
        aggregate = self.aggregate_type(aggregate_id)
        snapshot = self._snapshot(aggregate.stream_id) if self.snapshot_every else None
        if snapshot is not None:
            aggregate.restore_state(snapshot.state)
            aggregate.version = snapshot.version
        recorded = self.store.read_stream(aggregate.stream_id, from_version=aggregate.version + 1)
        if recorded:
            aggregate.replay([self._decode(e.event_type, e.data) for e in recorded], up_to_version=recorded[-1].version)
        return aggregate

    def get(self, aggregate_id: str) -> A:
        """Like `load`, but an aggregate with no events raises `AggregateNotFound`."""
        aggregate = self.load(aggregate_id)
        if aggregate.version < 0:
            raise AggregateNotFound(aggregate.stream_id)
        return aggregate

    def save(self, aggregate: A, *, metadata: dict[str, Any] | None = None) -> AppendResult | None:
        """Append the aggregate's new events, expecting the version it was loaded at."""
        pending = aggregate.pending_events()
        if not pending:
            return None
        loaded_at = aggregate.version - len(pending)
        events = [NewEvent(type(e).__name__, codec.to_data(e), dict(metadata or {})) for e in pending]
        expected = NO_STREAM if loaded_at < 0 else loaded_at
        every = self.snapshot_every
        # A snapshot each time the stream passes a multiple of `every` events, written with them.
        if every and (aggregate.version + 1) // every > (loaded_at + 1) // every:
            with transaction.atomic(using=self.store.using):
                result = self.store.append(aggregate.stream_id, events, expected)
                if result.positions:  # not an idempotent repeat, after which the stream may be further on
                    self._write_snapshot(aggregate)
        else:
            result = self.store.append(aggregate.stream_id, events, expected)
        aggregate.mark_saved()
        return result

    @property
    def snapshot_schema(self) -> int:
        """The schema the aggregate's snapshots are written and read with (see the module's docstring)."""
        return self.aggregate_type.snapshot_schema + upcasting.versions_added(tuple(self._event_classes))

    def _decode(self, event_type: str, data: dict[str, Any]) -> Any:
        try:
            cls = self._event_classes[event_type]
        except KeyError:
            raise UnknownEventType(
                f"{self.aggregate_type.__name__} does not know the event type {event_type!r}; add it to event_types."
            ) from None
        return codec.from_data(cls, data)

    def _snapshot(self, stream_id: str) -> _StoredSnapshot | None:
        """The stream's snapshot, unless it was taken of another type or an older state shape.

        Plain SQL: every load asks, most streams have none, and the ORM's query building cost
        several times the query itself.
        """
        with connections[self.store.using].cursor() as cursor:
            cursor.execute(
                f"SELECT version, state FROM {Snapshot._meta.db_table}"
                " WHERE stream_id = %s AND aggregate_type = %s AND schema_version = %s",
                [stream_id, self.aggregate_type.__name__, self.snapshot_schema],
            )
            row = cursor.fetchone()
        if row is None:
            return None
        version, state = row
        return _StoredSnapshot(version, json.loads(state) if isinstance(state, str | bytes) else state)

    def _write_snapshot(self, aggregate: A) -> None:
        Snapshot.objects.using(self.store.using).bulk_create(
            [
                Snapshot(
                    stream_id=aggregate.stream_id,
                    aggregate_type=type(aggregate).__name__,
                    schema_version=self.snapshot_schema,
                    version=aggregate.version,
                    state=aggregate.snapshot_state(),
                    recorded_at=datetime.now(UTC),
                )
            ],
            update_conflicts=True,
            unique_fields=["stream_id"],
            update_fields=["aggregate_type", "schema_version", "version", "state", "recorded_at"],
        )


def retry_on_conflict(func: Callable[P, R] | None = None, *, attempts: int = 5) -> Any:
    """Run `func` again, from the start, when another writer got to its stream first.

    Each attempt runs in a transaction of its own (a savepoint if one is already open), so an
    attempt that writes more than once is undone whole before the next; each reload sees the other
    writer's events. After `attempts` conflicts the last error is raised.
    """

    def decorate(func: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(func)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            for attempt in range(1, attempts + 1):
                try:
                    with transaction.atomic():
                        return func(*args, **kwargs)
                except ConcurrencyError:
                    if attempt == attempts:
                        raise
            raise AssertionError("unreachable")

        return wrapper

    return decorate(func) if func is not None else decorate
