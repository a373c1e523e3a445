"""The event store's SQL, and what differs in it between PostgreSQL and SQLite.

`eventstore.store` decides (expected versions, refusals, retries); this module writes and runs the
statements. On PostgreSQL an event records its writing transaction's id, a global read sees only
transactions older than every running one, and the append refuses to sort before its stream's head
(the store's docstring says why); on SQLite writers are serialised, every transaction id is 0 and
those conditions are always true. Only `eventstore.store` uses this module.
"""

from __future__ import annotations

import functools
import json
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import psycopg
from django.db import IntegrityError

from eventstore.store_types import Checkpoint, LogEntry, NewEvent, RecordedEvent

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
class Dialect:
    """What differs between PostgreSQL and SQLite; the statements are otherwise the same.

    The defaults are SQLite's: serialised writers need no transaction ids and no visibility rule.
    """

    row_to_event: Callable[[tuple], RecordedEvent]
    transaction_id: str = "0"  # SQL for the writing transaction's id
    head_written_before_us: str = "1 = 1"  # SQL condition on the stream's head row, alias h
    visible: str = "1 = 1"  # SQL condition: the event's transaction ended before every running one began
    json_param: str = "%s"  # SQL placeholder of a JSON parameter
    native_uuid: bool = False  # whether UUIDs are passed as such (else as 32 hex digits)
    prepares: bool = False  # whether the append may run as a prepared statement
    recorded_at: str = "recorded_at"  # SQL selecting recorded_at, as row_to_event reads it

    def uuid_param(self, value: uuid.UUID) -> uuid.UUID | str:
        return value if self.native_uuid else value.hex


POSTGRESQL = Dialect(
    transaction_id="pg_current_xact_id()::text::bigint",
    head_written_before_us="h.transaction_id <= pg_current_xact_id()::text::bigint",
    visible="transaction_id < pg_snapshot_xmin(pg_current_snapshot())::text::bigint",
    json_param="%s::jsonb",
    native_uuid=True,
    prepares=True,
    recorded_at="recorded_at::text",
    row_to_event=_postgresql_row,
)
SQLITE = Dialect(row_to_event=_sqlite_row)


def dialect_of(connection: Any) -> Dialect:
    return POSTGRESQL if connection.vendor == "postgresql" else SQLITE


# --- writing ------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=256)  # by batch size and shape: a handful in practice
def _insert_sql(dialect: Dialect, count: int, shape: str) -> str:
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


def insert_statement(
    dialect: Dialect,
    stream_id: str,
    category: str,
    events: list[NewEvent],
    head: int | None,
    *,
    recorded_at: Any,
) -> tuple[str, list[Any]]:
    """INSERT of every event, on condition that the stream's head is `head` (None: whatever it
    is when the statement runs), written by an older transaction."""
    params: list[Any] = [stream_id, category, recorded_at]
    for offset, event in enumerate(events, start=1):
        metadata = with_correlation(event)
        params += [
            offset if head is None else head + offset,
            dialect.uuid_param(event.event_id),
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


def execute_insert(connection: Any, dialect: Dialect, sql: str, params: list[Any]) -> list[tuple[int, int]]:
    """Run the INSERT; the (position, version) of each row written, in order."""
    if dialect.prepares and _prepared_statements_enabled(connection):
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


def head_written_before_us(connection: Any, dialect: Dialect, stream_id: str) -> bool:
    """Whether the stream's last event (if any) was written by a transaction not younger than ours."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {dialect.head_written_before_us} FROM {_HEAD} AS h", [stream_id])
        row = cursor.fetchone()
    return row is None or bool(row[0])


def is_version_clash(conflict: IntegrityError) -> bool:
    """Whether the database refused a row for taking a (stream_id, version) already taken."""
    cause = conflict.__cause__
    constraint = getattr(getattr(cause, "diag", None), "constraint_name", None)  # PostgreSQL
    return constraint == STREAM_VERSION_CONSTRAINT or f"{EVENT_TABLE}.stream_id, {EVENT_TABLE}.version" in str(cause)


def with_correlation(event: NewEvent) -> dict[str, Any]:
    """The event's metadata as written: its own id as correlation id when it starts a flow."""
    metadata = dict(event.metadata)
    metadata.setdefault("correlation_id", str(event.event_id))
    metadata.setdefault("causation_id", None)
    correlation_id = metadata["correlation_id"]
    if not isinstance(correlation_id, str) or not 0 < len(correlation_id) <= MAX_CORRELATION_ID_LENGTH:
        raise TypeError(f"metadata correlation_id must be a string of 1 to {MAX_CORRELATION_ID_LENGTH} characters.")
    return metadata


def _dumps(value: dict[str, Any], what: str) -> str:
    if not isinstance(value, dict):
        raise TypeError(f"Event {what} must be a JSON object (a dict), not {type(value).__name__}.")
    # allow_nan=False: NaN and Infinity are not JSON, and PostgreSQL would refuse them anyway.
    return json.dumps(value, allow_nan=False, separators=(",", ":"))


def _prepared_statements_enabled(connection: Any) -> bool:
    connection.ensure_connection()
    return connection.connection.prepare_threshold is not None


# --- reading ------------------------------------------------------------------------------------

#: The order of a global read, forwards and backwards: (transaction_id, position), not position.
LOG_ORDER = "transaction_id, position"
LOG_ORDER_BACKWARDS = "transaction_id DESC, position DESC"


def stream_version(connection: Any, stream_id: str) -> int:
    """The version of the stream's last event, or -1 if the stream does not exist."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT version FROM {_HEAD} AS h", [stream_id])
        row = cursor.fetchone()
    return -1 if row is None else row[0]


def select_events(
    connection: Any, dialect: Dialect, where: str, params: list, *, order: str, limit: int | None = None
) -> list[RecordedEvent]:
    """The events matching `where`, whole, in `order`."""
    sql = f"SELECT {_COLUMNS}, {dialect.recorded_at} FROM {EVENT_TABLE} WHERE {where} ORDER BY {order}"
    if limit is not None:
        sql += " LIMIT %s"
        params = [*params, limit]
    row_to_event = dialect.row_to_event
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [row_to_event(row) for row in cursor.fetchall()]


def scan_entries(connection: Any, dialect: Dialect, where: str, params: list, *, limit: int) -> list[LogEntry]:
    """The place, id and flow of the events matching `where`, in log order, decoding no JSON."""
    sql = (
        f"SELECT transaction_id, position, event_id, correlation_id FROM {EVENT_TABLE} WHERE {where}"
        f" ORDER BY {LOG_ORDER} LIMIT %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, limit])
        return [
            LogEntry(Checkpoint(tx, position), event_id if dialect.native_uuid else uuid.UUID(event_id), correlation_id)
            for tx, position, event_id, correlation_id in cursor.fetchall()
        ]


def log_filter(
    dialect: Dialect, after: Checkpoint, categories: Iterable[str] | None, event_types: Iterable[str] | None
) -> tuple[str, list[Any]]:
    """The WHERE of a global read: visible events after `after`, of these categories and types."""
    where = [dialect.visible, "(transaction_id, position) > (%s, %s)"]
    params: list[Any] = [after[0], after[1]]
    for column, values in (("category", categories), ("event_type", event_types)):
        if values is not None:
            values = list(values)
            where.append(f"{column} IN ({', '.join(['%s'] * len(values))})" if values else "1 = 0")
            params += values
    return " AND ".join(where), params


def stream_filter(stream_id: str, *, from_version: int | None, backwards: bool) -> tuple[str, list[Any], str]:
    """The WHERE and ORDER BY of a read of one stream from `from_version`, forwards or backwards."""
    where, params = ["stream_id = %s"], [stream_id]
    if backwards and from_version is not None:
        where.append("version <= %s")
        params.append(from_version)
    elif not backwards and from_version:
        where.append("version >= %s")
        params.append(from_version)
    return " AND ".join(where), params, "version DESC" if backwards else "version"


def streams_filter(stream_ids: Sequence[str]) -> tuple[str, list[Any], str]:
    """The WHERE and ORDER BY of a read of these streams, stream by stream, each in version order."""
    return f"stream_id IN ({', '.join(['%s'] * len(stream_ids))})", list(stream_ids), "stream_id, version"


def event_ids_in(dialect: Dialect, event_ids: Sequence[uuid.UUID]) -> tuple[str, list[Any]]:
    """The WHERE of a read of these events by id."""
    return f"event_id IN ({', '.join(['%s'] * len(event_ids))})", [dialect.uuid_param(i) for i in event_ids]
