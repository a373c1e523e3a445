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
"""

from __future__ import annotations

import functools
import json
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, NamedTuple

import psycopg
from django.db import DEFAULT_DB_ALIAS, IntegrityError, connections, transaction

__all__ = [
    "ANY",
    "NO_STREAM",
    "START",
    "STREAM_EXISTS",
    "Appended",
    "AppendResult",
    "Checkpoint",
    "ConcurrencyError",
    "DuplicateEventId",
    "EventStore",
    "EventStoreError",
    "LogEntry",
    "NewEvent",
    "RecordedEvent",
    "TransactionOrderConflict",
    "WrongExpectedVersion",
    "caused_by",
    "category_of",
    "on_commit_of_appends",
]


class _ExpectedVersion(str):
    """A named expected-version form (ANY, NO_STREAM, STREAM_EXISTS)."""


ANY = _ExpectedVersion("any")
NO_STREAM = _ExpectedVersion("no_stream")
STREAM_EXISTS = _ExpectedVersion("stream_exists")

ExpectedVersion = int | _ExpectedVersion


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


# --- SQL ----------------------------------------------------------------------------------------

#: The log's table, and the sizes of its text columns (eventstore.models declares them from these).
EVENT_TABLE = "eventstore_event"
MAX_STREAM_ID_LENGTH = 200  # a category, being a prefix of a stream id, fits the same size
MAX_EVENT_TYPE_LENGTH = 100
MAX_CORRELATION_ID_LENGTH = 100
STREAM_VERSION_CONSTRAINT = "eventstore_stream_version_unique"
_COLUMNS = "position, transaction_id, stream_id, version, event_id, event_type, data, metadata"
# The last event of the stream named by the one parameter, as a row source.
_HEAD = f"(SELECT version, transaction_id FROM {EVENT_TABLE} WHERE stream_id = %s ORDER BY version DESC LIMIT 1)"


def _postgresql_row(row: tuple) -> RecordedEvent:
    *identity, data, metadata, recorded_at = row
    # recorded_at is selected as ISO text: the C parser is several times faster than the loader
    # Django registers for timestamptz, and reading the log is a hot path.
    return RecordedEvent(*identity, json.loads(data), json.loads(metadata), datetime.fromisoformat(recorded_at))


def _sqlite_row(row: tuple) -> RecordedEvent:
    position, transaction_id, stream_id, version, event_id, event_type, data, metadata, recorded_at = row
    return RecordedEvent(
        position,
        transaction_id,
        stream_id,
        version,
        uuid.UUID(event_id),  # stored as 32 hex digits
        event_type,
        json.loads(data),
        json.loads(metadata),
        recorded_at.replace(tzinfo=UTC),  # stored in UTC, without a zone
    )


@dataclass(frozen=True)
class _Dialect:
    """What differs between PostgreSQL and SQLite; the statements are otherwise the same."""

    transaction_id: str  # SQL for the writing transaction's id
    head_written_before_us: str  # SQL condition on the stream's head row, alias h
    visible: str  # SQL condition: the event's transaction ended before every running one began
    json_param: str  # SQL placeholder of a JSON parameter
    native_uuid: bool  # whether UUIDs are passed as such (else as 32 hex digits)
    prepares: bool  # whether the append may run as a prepared statement
    recorded_at: str  # SQL selecting recorded_at, as row_to_event reads it
    row_to_event: Callable[[tuple], RecordedEvent]


_POSTGRESQL = _Dialect(
    transaction_id="pg_current_xact_id()::text::bigint",
    head_written_before_us="h.transaction_id <= pg_current_xact_id()::text::bigint",
    visible="transaction_id < pg_snapshot_xmin(pg_current_snapshot())::text::bigint",
    json_param="%s::jsonb",
    native_uuid=True,
    prepares=True,
    recorded_at="recorded_at::text",
    row_to_event=_postgresql_row,
)
_SQLITE = _Dialect(
    transaction_id="0",
    head_written_before_us="1 = 1",
    visible="1 = 1",
    json_param="%s",
    native_uuid=False,
    prepares=False,
    recorded_at="recorded_at",
    row_to_event=_sqlite_row,
)


@functools.lru_cache(maxsize=256)  # by batch size and shape: a handful in practice
def _insert_sql(dialect: _Dialect, count: int, shape: str) -> str:
    """The INSERT of `count` events, for each shape of condition on the stream's head: "any" (the
    head read in the statement), "after_head" (the head must be the given version) or
    "new_stream". Built once per shape: the hot path only binds its parameters."""
    # Rows go in only if the stream's head is the expected one and was written by an older
    # transaction; the unique (stream_id, version) and event_id constraints refuse a concurrent
    # writer or a repeat.
    row = f"(%s, %s, %s, {dialect.json_param}, {dialect.json_param}, %s)"
    values = f"(VALUES {', '.join([row] * count)}) AS v"
    conflict_clause = ""
    if shape == "any":
        # Versions follow the head as this statement sees it; a writer that commits a version in
        # between makes the unique index refuse us, and append retries. One event that loses the
        # race is simply not written (no error for the database to log on every collision, as on
        # a busy input stream); several are refused as one.
        version = "coalesce(h.version, -1) + v.column1"
        if count == 1:
            conflict_clause = " ON CONFLICT (stream_id, version) DO NOTHING"
        source = f"{values} LEFT JOIN {_HEAD} AS h ON 1 = 1"
        gate = f"(h.version IS NULL OR {dialect.head_written_before_us})"
    elif shape == "after_head":
        version, source = "v.column1", values
        gate = (
            f"EXISTS (SELECT 1 FROM {EVENT_TABLE} h WHERE h.stream_id = %s AND h.version = %s"
            f" AND {dialect.head_written_before_us})"
        )
    else:
        version, source, gate = "v.column1", values, "1 = 1"
    return (
        f"INSERT INTO {EVENT_TABLE} (transaction_id, stream_id, category, recorded_at,"
        " version, event_id, event_type, data, metadata, correlation_id)"
        f" SELECT {dialect.transaction_id}, %s, %s, %s,"
        f" {version}, v.column2, v.column3, v.column4, v.column5, v.column6"
        f" FROM {source} WHERE {gate}{conflict_clause}"
        " RETURNING position, version"
    )


def _dumps(value: dict[str, Any], what: str) -> str:
    if not isinstance(value, dict):
        raise TypeError(f"Event {what} must be a JSON object (a dict), not {type(value).__name__}.")
    # allow_nan=False: NaN and Infinity are not JSON, and PostgreSQL would refuse them anyway.
    return json.dumps(value, allow_nan=False, separators=(",", ":"))


class EventStore:
    """The event store on one Django database (`using`, default "default")."""

    def __init__(self, *, using: str = DEFAULT_DB_ALIAS, page_size: int = 1000) -> None:
        self.using = using
        self.page_size = page_size

    def __repr__(self) -> str:
        return f"EventStore(using={self.using!r})"

    @property
    def _dialect(self) -> _Dialect:
        return _POSTGRESQL if connections[self.using].vendor == "postgresql" else _SQLITE

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
        _check_expected_version(expected_version)
        _check_names(stream_id, events)
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
        sql, params = self._insert_statement(stream_id, events, head)
        connection = connections[self.using]
        # One statement writes every row or none: in autocommit it is a transaction of its own;
        # inside one, a savepoint lets the transaction go on after a refusal.
        savepoint = transaction.atomic(using=self.using) if connection.in_atomic_block else nullcontext()
        try:
            with savepoint:
                written = self._execute_insert(sql, params)
        except IntegrityError as conflict:  # on (stream_id, version) or event_id, most likely
            return self._refusal(stream_id, events, head, expected, conflict)
        if written:
            return AppendResult(stream_id, written[-1][1], tuple(position for position, _ in written))
        return self._refusal(stream_id, events, head, expected, None)  # the gate held the rows back

    def _execute_insert(self, sql: str, params: list[Any]) -> list[tuple[int, int]]:
        """Run the INSERT; the (position, version) of each row written, in order."""
        connection = connections[self.using]
        if self._dialect.prepares and _prepared_statements_enabled(connection):
            # Django binds parameters in the client, so PostgreSQL would parse and plan this
            # statement at every append: most of an append's cost. A server-side binding cursor
            # runs it as a prepared statement instead (OPTIONS["prepare_threshold"] turns that on;
            # leave it unset behind a pooler that cannot keep prepared statements).
            with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
                cursor.execute(sql, params, prepare=True)
                rows = cursor.fetchall()
        else:
            with connection.cursor() as cursor:
                cursor.execute(sql, params)
                rows = cursor.fetchall()
        return sorted(rows)

    def _insert_statement(self, stream_id: str, events: list[NewEvent], head: int | None) -> tuple[str, list[Any]]:
        """INSERT of every event, on condition that the stream's head is `head` (None: whatever it
        is when the statement runs), written by an older transaction."""
        dialect = self._dialect
        now = connections[self.using].ops.adapt_datetimefield_value(datetime.now(UTC))
        params: list[Any] = [stream_id, category_of(stream_id), now]
        for offset, event in enumerate(events, start=1):
            metadata = _with_correlation(event)
            params += [
                offset if head is None else head + offset,
                event.event_id if dialect.native_uuid else event.event_id.hex,
                event.event_type,
                _dumps(event.data, "data"),
                _dumps(metadata, "metadata"),
                metadata["correlation_id"],
            ]
        if head is None:
            params.append(stream_id)
        elif head >= 0:
            params += [stream_id, head]
        shape = "any" if head is None else "after_head" if head >= 0 else "new_stream"
        return _insert_sql(dialect, len(events), shape), params

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
        if head is None and _is_version_clash(conflict):
            raise _LostRace()  # the hot path when many write one stream; a repeat shows on the retry
        ids = [e.event_id for e in events]
        native = self._dialect.native_uuid
        where = "event_id IN (" + ", ".join(["%s"] * len(ids)) + ")"
        found = {e.event_id: e for e in self._select(where, [i if native else i.hex for i in ids], order="position")}
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
        with connections[self.using].cursor() as cursor:
            cursor.execute(f"SELECT {self._dialect.head_written_before_us} FROM {_HEAD} AS h", [stream_id])
            row = cursor.fetchone()
        return row is None or bool(row[0])

    # --- reading ------------------------------------------------------------------------------

    def get(self, event_id: uuid.UUID) -> RecordedEvent | None:
        """The event with this id, or None."""
        found = self.get_all([event_id])
        return found[0] if found else None

    def stream_version(self, stream_id: str) -> int:
        """The version of the stream's last event, or -1 if the stream does not exist."""
        with connections[self.using].cursor() as cursor:
            cursor.execute(f"SELECT version FROM {_HEAD} AS h", [stream_id])
            row = cursor.fetchone()
        return -1 if row is None else row[0]

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
        where, params = ["stream_id = %s"], [stream_id]
        if backwards and from_version is not None:
            where.append("version <= %s")
            params.append(from_version)
        elif not backwards and from_version:
            where.append("version >= %s")
            params.append(from_version)
        order = "version DESC" if backwards else "version"
        return self._select(" AND ".join(where), params, order=order, limit=limit)

    def read_streams(self, stream_ids: Sequence[str]) -> list[RecordedEvent]:
        """Every event of these streams, stream by stream, each in version order."""
        if not stream_ids:
            return []
        where = f"stream_id IN ({', '.join(['%s'] * len(stream_ids))})"
        return self._select(where, list(stream_ids), order="stream_id, version")

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
        where, params = self._log_filter(after, categories, event_types)
        return self._select(where, params, order="transaction_id, position", limit=limit or self.page_size)

    def scan_all(
        self,
        *,
        after: Checkpoint = START,
        categories: Iterable[str] | None = None,
        event_types: Iterable[str] | None = None,
        limit: int | None = None,
    ) -> list[LogEntry]:
        """What `read_all` would return, without the events' data: their place, id and flow.

        For a reader that wants only some of them (one partition of a consumer group's work):
        the scan decodes no JSON; `get_all` then reads the wanted ones whole.
        """
        where, params = self._log_filter(after, categories, event_types)
        sql = (
            f"SELECT transaction_id, position, event_id, correlation_id FROM {EVENT_TABLE} WHERE {where}"
            " ORDER BY transaction_id, position LIMIT %s"
        )
        native = self._dialect.native_uuid
        with connections[self.using].cursor() as cursor:
            cursor.execute(sql, [*params, limit or self.page_size])
            return [
                LogEntry(Checkpoint(tx, position), event_id if native else uuid.UUID(event_id), correlation_id)
                for tx, position, event_id, correlation_id in cursor.fetchall()
            ]

    def get_all(self, event_ids: Sequence[uuid.UUID]) -> list[RecordedEvent]:
        """The events with these ids, in log order."""
        if not event_ids:
            return []
        keys = [i if self._dialect.native_uuid else i.hex for i in event_ids]
        return self._select(f"event_id IN ({', '.join(['%s'] * len(keys))})", keys, order="transaction_id, position")

    def _log_filter(
        self, after: Checkpoint, categories: Iterable[str] | None, event_types: Iterable[str] | None
    ) -> tuple[str, list[Any]]:
        """The WHERE of a global read: visible events after `after`, of these categories and types."""
        where = [self._dialect.visible, "(transaction_id, position) > (%s, %s)"]
        params: list[Any] = [after[0], after[1]]
        for column, values in (("category", categories), ("event_type", event_types)):
            if values is not None:
                values = list(values)
                where.append(f"{column} IN ({', '.join(['%s'] * len(values))})" if values else "1 = 0")
                params += values
        return " AND ".join(where), params

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
        page = self._select(self._dialect.visible, [], order="transaction_id DESC, position DESC", limit=1)
        return page[0].checkpoint if page else START

    def _select(self, where: str, params: list, *, order: str, limit: int | None = None) -> list[RecordedEvent]:
        sql = f"SELECT {_COLUMNS}, {self._dialect.recorded_at} FROM {EVENT_TABLE} WHERE {where} ORDER BY {order}"
        if limit is not None:
            sql += " LIMIT %s"
            params = [*params, limit]
        row_to_event = self._dialect.row_to_event
        with connections[self.using].cursor() as cursor:
            cursor.execute(sql, params)
            return [row_to_event(row) for row in cursor.fetchall()]


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


_commit_listeners: list[Callable[[list[Appended]], None]] = []


def on_commit_of_appends(listener: Callable[[list[Appended]], None]) -> None:
    """Call `listener` with the events of each append once its transaction has committed (never
    for a rolled-back one). The consumer groups deliver this way; the store knows nothing of them."""
    if listener not in _commit_listeners:
        _commit_listeners.append(listener)


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


def _check_expected_version(expected: ExpectedVersion) -> None:
    if isinstance(expected, bool) or not isinstance(expected, int | _ExpectedVersion):
        raise TypeError(f"expected_version must be an int, ANY, NO_STREAM or STREAM_EXISTS, not {expected!r}.")
    if isinstance(expected, int) and expected < 0:
        raise ValueError("An exact expected version is 0 or more; use NO_STREAM for a new stream.")


def _is_version_clash(conflict: IntegrityError) -> bool:
    """Whether the database refused a row for taking a (stream_id, version) already taken."""
    cause = conflict.__cause__
    constraint = getattr(getattr(cause, "diag", None), "constraint_name", None)  # PostgreSQL
    return constraint == STREAM_VERSION_CONSTRAINT or f"{EVENT_TABLE}.stream_id, {EVENT_TABLE}.version" in str(cause)


def _prepared_statements_enabled(connection: Any) -> bool:
    connection.ensure_connection()
    return connection.connection.prepare_threshold is not None


def _with_correlation(event: NewEvent) -> dict[str, Any]:
    metadata = dict(event.metadata)
    metadata.setdefault("correlation_id", str(event.event_id))
    metadata.setdefault("causation_id", None)
    correlation_id = metadata["correlation_id"]
    if not isinstance(correlation_id, str) or not 0 < len(correlation_id) <= MAX_CORRELATION_ID_LENGTH:
        raise TypeError(f"metadata correlation_id must be a string of 1 to {MAX_CORRELATION_ID_LENGTH} characters.")
    return metadata
