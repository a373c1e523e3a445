"""The event store: an append-only log of events grouped in streams.

Public API::

    store = EventStore()                      # on the "default" database
    result = store.append("order-42", [NewEvent("OrderPlaced", {...})], NO_STREAM)
    store.read_stream("order-42")             # forwards from version 0
    store.read_stream("order-42", backwards=True, limit=1)   # the last event
    store.read_all(after=checkpoint, categories=["order"], limit=500)
    store.get(event_id)                       # one event by its id
    for event in store.iter_all(event_types=["OrderPlaced"]): ...

Streams and versions. An event belongs to one stream (`order-42`); its version is its 0-based
place in that stream; the stream's category is the part of its id before the first `-`.

Expected versions (as in EventStoreDB). `append` takes an exact version (the version of the last
event the caller saw), `NO_STREAM` (the stream must not exist), `STREAM_EXISTS` or `ANY`. A mismatch
raises `WrongExpectedVersion` and writes nothing. Appending events whose ids are already in the
stream at the same place is an idempotent success that writes nothing; an event id reused anywhere
else raises `DuplicateEventId`.

Global order without gaps. On PostgreSQL transactions commit out of `position` order: a reader that
checkpoints on `position` alone passes over an event whose transaction commits after one with a
higher position. So every event records the id of its writing transaction (`pg_current_xact_id()`),
global reads return only events of transactions older than the oldest one still running
(`pg_snapshot_xmin`), ordered by `(transaction_id, position)`, and checkpoints are such pairs
(`Checkpoint`). Every transaction that could still commit has an id at or above that bound, so it
sorts after any checkpoint taken so far: no reader skips an event, and writers never wait on a
shared lock. A rolled-back append leaves a hole in `position` that nobody waits for.

Make the append the first write of its transaction: a transaction takes its id at its first write,
and the id must be taken after the previous event of the stream committed, or a later version would
sort before an earlier one. The store checks this for the stream it appends to and raises
`TransactionOrderConflict` (retry in a new transaction) when it does not hold. On SQLite writers
are serialised, transaction ids are 0 and `position` alone orders the log.

Metadata carries `correlation_id` (the input message that started the flow; an event appended
without one starts its own flow and gets its own id) and `causation_id` (the event that caused this
one; see `caused_by`).

Where things are: this module is the API (`EventStore`, and every value and error it takes or
raises, defined in `eventstore.store_types`); the SQL, and what differs in it between PostgreSQL
and SQLite, is in `eventstore.store_sql`.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import nullcontext
from datetime import UTC, datetime
from typing import Unpack

from django.db import DEFAULT_DB_ALIAS, IntegrityError, connections, transaction

from eventstore import mapping, store_sql
from eventstore.store_sql import (
    EVENT_TABLE,
    MAX_CORRELATION_ID_LENGTH,
    MAX_EVENT_TYPE_LENGTH,
    MAX_STREAM_ID_LENGTH,
    STREAM_VERSION_CONSTRAINT,
)
from eventstore.store_types import (
    ANY,
    NO_STREAM,
    START,
    STREAM_EXISTS,
    Appended,
    AppendResult,
    Checkpoint,
    ConcurrencyError,
    DuplicateEventId,
    EventStoreError,
    ExpectedVersion,
    LogEntry,
    LogQuery,
    NewEvent,
    RecordedEvent,
    TransactionOrderConflict,
    WrongExpectedVersion,
    category_of,
    caused_by,
    check_expected_version,
)

__all__ = [
    "ANY",
    "EVENT_TABLE",
    "MAX_CORRELATION_ID_LENGTH",
    "MAX_EVENT_TYPE_LENGTH",
    "MAX_STREAM_ID_LENGTH",
    "NO_STREAM",
    "START",
    "STREAM_EXISTS",
    "STREAM_VERSION_CONSTRAINT",
    "Appended",
    "AppendResult",
    "Checkpoint",
    "ConcurrencyError",
    "DuplicateEventId",
    "EventStore",
    "EventStoreError",
    "LogEntry",
    "LogQuery",
    "NewEvent",
    "RecordedEvent",
    "TransactionOrderConflict",
    "WrongExpectedVersion",
    "caused_by",
    "category_of",
    "on_commit_of_appends",
]


class EventStore:
    """The event store on one Django database (`using`, default "default")."""

    def __init__(self, *, using: str = DEFAULT_DB_ALIAS, page_size: int = 1000) -> None:
        self.using = using
        self.page_size = page_size

    def __repr__(self) -> str:
        return f"EventStore(using={self.using!r})"

    @property
    def _dialect(self) -> store_sql.Dialect:
        return store_sql.dialect_of(connections[self.using])

    # --- writing ------------------------------------------------------------------------------

    def append(self, stream_id: str, events: Sequence[NewEvent], expected_version: ExpectedVersion) -> AppendResult:
        """Append `events` to `stream_id` if it is at `expected_version`, all or nothing.

        Raises `WrongExpectedVersion`, `TransactionOrderConflict` (both `ConcurrencyError`: retry
        in a new transaction) or `DuplicateEventId`.
        """
        events = list(events)
        if not events:
            raise ValueError("append needs at least one event.")
        if len({e.event_id for e in events}) != len(events):
            raise ValueError("append was given the same event id twice.")
        check_expected_version(expected_version)
        _check_names(stream_id, events)
        events = mapping.on_write(stream_id, events)
        while True:
            try:
                result = self._append(stream_id, events, expected_version)
                break
            except _LostRace:
                continue  # ANY or STREAM_EXISTS lost a race to another writer: read the new head.
        if result.positions and _commit_listeners:
            written = [
                Appended(
                    e.event_id, stream_id, e.event_type, e.metadata.get("correlation_id") or str(e.event_id), e.metadata
                )
                for e in events
            ]
            transaction.on_commit(functools.partial(_announce, written), using=self.using)
        return result

    def _append(self, stream_id: str, events: list[NewEvent], expected: ExpectedVersion) -> AppendResult:
        head: int | None
        if isinstance(expected, int):
            head = expected
        elif expected == NO_STREAM:
            head = -1
        elif expected == ANY:
            head = None  # the statement reads the head itself: one round trip, not two
        else:
            head = self.stream_version(stream_id)
            if head < 0:
                raise WrongExpectedVersion(stream_id, expected, head)
        connection = connections[self.using]
        recorded_at = connection.ops.adapt_datetimefield_value(datetime.now(UTC))
        sql, params = store_sql.insert_statement(
            self._dialect, stream_id, category_of(stream_id), events, head, recorded_at=recorded_at
        )
        # One statement writes every row or none: in autocommit it is a transaction of its own;
        # inside one, a savepoint lets the transaction go on after a refusal.
        savepoint = transaction.atomic(using=self.using) if connection.in_atomic_block else nullcontext()
        try:
            with savepoint:
                written = store_sql.execute_insert(connection, self._dialect, sql, params)
        except IntegrityError as conflict:  # on (stream_id, version) or event_id, most likely
            return self._refusal(stream_id, events, head, expected, conflict)
        if written:
            return AppendResult(stream_id, written[-1][1], tuple(position for position, _ in written))
        return self._refusal(stream_id, events, head, expected, None)  # the gate held the rows back

    def _refusal(
        self,
        stream_id: str,
        events: list[NewEvent],
        head: int | None,
        expected: ExpectedVersion,
        conflict: IntegrityError | None,
    ) -> AppendResult:
        """Nothing was written: an idempotent repeat (returned), or a conflict (raised)."""
        if head is None and conflict is None:
            # ANY wrote nothing without an error: its one event lost the race for the next version
            # (ON CONFLICT DO NOTHING), or the head was written by a younger transaction. Outside a
            # transaction it can only be the race: the statement's own transaction began after the
            # head's writer committed. Either way no event id was repeated: that raises.
            if not connections[self.using].in_atomic_block or self._head_written_before_us(stream_id):
                raise _LostRace()
            raise TransactionOrderConflict(stream_id)
        if head is None and store_sql.is_version_clash(conflict):
            raise _LostRace()  # the hot path when many write one stream; a repeat shows on the retry
        ids = [e.event_id for e in events]
        where, params = store_sql.event_ids_in(self._dialect, ids)
        found = {e.event_id: e for e in self._select(where, params, order="position")}
        actual = self.stream_version(stream_id)
        if len(found) == len(ids):
            first = found[ids[0]].version if expected in (ANY, STREAM_EXISTS) else head + 1
            if all(found[i].stream_id == stream_id and found[i].version == first + n for n, i in enumerate(ids)):
                return AppendResult(stream_id, actual, ())
        if found:
            raise DuplicateEventId(list(found))
        if head is None:
            raise conflict  # ANY refused for neither the version nor the ids: the database's own words
        if actual == head:
            if conflict is not None:
                raise conflict  # not a conflict of versions or ids: the database's own words
            raise TransactionOrderConflict(stream_id)
        if expected == STREAM_EXISTS:
            raise _LostRace()
        raise WrongExpectedVersion(stream_id, expected, actual)

    def _head_written_before_us(self, stream_id: str) -> bool:
        return store_sql.head_written_before_us(connections[self.using], self._dialect, stream_id)

    # --- reading ------------------------------------------------------------------------------

    def get(self, event_id: uuid.UUID) -> RecordedEvent | None:
        """The event with this id, or None."""
        found = self.get_all([event_id])
        return found[0] if found else None

    def stream_version(self, stream_id: str) -> int:
        """The version of the stream's last event, or -1 if the stream does not exist."""
        return store_sql.stream_version(connections[self.using], stream_id)

    def read_stream(
        self,
        stream_id: str,
        *,
        from_version: int | None = None,
        backwards: bool = False,
        limit: int | None = None,
    ) -> list[RecordedEvent]:
        """Events of one stream from `from_version` (inclusive), forwards or backwards.

        Forwards starts at version 0 by default, backwards at the last event.
        """
        where, params, order = store_sql.stream_filter(stream_id, from_version=from_version, backwards=backwards)
        return self._select(where, params, order=order, limit=limit)

    def read_streams(self, stream_ids: Sequence[str]) -> list[RecordedEvent]:
        """Every event of these streams, stream by stream, each in version order."""
        if not stream_ids:
            return []
        where, params, order = store_sql.streams_filter(stream_ids)
        return self._select(where, params, order=order)

    def read_all(
        self,
        *,
        after: Checkpoint = START,
        categories: Iterable[str] | None = None,
        event_types: Iterable[str] | None = None,
        limit: int | None = None,
    ) -> list[RecordedEvent]:
        """Up to `limit` events of the whole log after `after`, in log order, optionally filtered.

        Gap-safe: a later call with the last event's checkpoint never misses an event, whatever
        order concurrent writers commit in. Events of the calling transaction are not seen.
        """
        where, params = store_sql.log_filter(self._dialect, after, categories, event_types)
        return self._select(where, params, order=store_sql.LOG_ORDER, limit=limit or self.page_size)

    def scan_all(self, **query: Unpack[LogQuery]) -> list[LogEntry]:
        """What `read_all(**query)` would return, without the events' data: their place, id and flow.

        For a reader that wants only some of them (one partition of a consumer group's work):
        the scan decodes no JSON; `get_all` then reads the wanted ones whole.
        """
        dialect = self._dialect
        after, categories, event_types = query.get("after", START), query.get("categories"), query.get("event_types")
        where, params = store_sql.log_filter(dialect, after, categories, event_types)
        limit = query.get("limit") or self.page_size
        return store_sql.scan_entries(connections[self.using], dialect, where, params, limit=limit)

    def get_all(self, event_ids: Sequence[uuid.UUID]) -> list[RecordedEvent]:
        """The events with these ids, in log order."""
        if not event_ids:
            return []
        where, params = store_sql.event_ids_in(self._dialect, event_ids)
        return self._select(where, params, order=store_sql.LOG_ORDER)

    def iter_all(
        self,
        *,
        after: Checkpoint = START,
        categories: Iterable[str] | None = None,
        event_types: Iterable[str] | None = None,
    ) -> Iterator[RecordedEvent]:
        """Every event after `after` that is visible now, page by page."""
        categories = None if categories is None else list(categories)
        event_types = None if event_types is None else list(event_types)
        while True:
            page = self.read_all(after=after, categories=categories, event_types=event_types)
            yield from page
            if len(page) < self.page_size:
                return
            after = page[-1].checkpoint

    def head(self) -> Checkpoint:
        """The checkpoint of the last visible event of the log (START for an empty log)."""
        page = self._select(self._dialect.visible, [], order=store_sql.LOG_ORDER_BACKWARDS, limit=1)
        return page[0].checkpoint if page else START

    def _select(self, where: str, params: list, *, order: str, limit: int | None = None) -> list[RecordedEvent]:
        """The events as the code reads them: `eventstore.mapping.on_read` of the rows."""
        rows = store_sql.select_events(connections[self.using], self._dialect, where, params, order=order, limit=limit)
        return mapping.on_read(rows)


_commit_listeners: list[Callable[[list[Appended]], None]] = []


def on_commit_of_appends(listener: Callable[[list[Appended]], None]) -> None:
    """Call `listener` with the events of each append once its transaction has committed (never
    for a rolled-back one). The consumer groups deliver this way; the store knows nothing of them."""
    if listener not in _commit_listeners:
        _commit_listeners.append(listener)


def commit_listeners() -> tuple[Callable[[list[Appended]], None], ...]:
    """The listeners `on_commit_of_appends` registered, in the order they are called."""
    return tuple(_commit_listeners)


def _announce(written: list[Appended]) -> None:
    for listener in _commit_listeners:
        listener(written)


class _LostRace(Exception):
    """Internal: an ANY or STREAM_EXISTS append lost a race; `append` retries."""


def _check_names(stream_id: str, events: list[NewEvent]) -> None:
    if not isinstance(stream_id, str) or not 0 < len(stream_id) <= MAX_STREAM_ID_LENGTH:
        raise ValueError(f"A stream id is a string of 1 to {MAX_STREAM_ID_LENGTH} characters, not {stream_id!r}.")
    for event in events:
        if not isinstance(event.event_type, str) or not 0 < len(event.event_type) <= MAX_EVENT_TYPE_LENGTH:
            raise ValueError(
                f"An event type is a string of 1 to {MAX_EVENT_TYPE_LENGTH} characters, not {event.event_type!r}."
            )
