"""Declaring projectors: what a projector is, the keyed-row projector most read models are, and
the registry the apps fill when ready."""

from __future__ import annotations

import functools
import json
import zlib
from collections.abc import Callable, Hashable, Iterable
from typing import Any, ClassVar

import psycopg
from django.db import connections, models, router

from eventstore.registry import Registry
from eventstore.store import RecordedEvent


class Projector:
    """Keeps one read model up to date from the log.

    `project` is given the next batch of events of `event_types`, in log order, inside the
    transaction that also moves the projector's checkpoint past them: the read-model changes and the
    checkpoint commit together, so no event is applied twice or missed. `models` are the tables the
    projector owns: a rebuild empties them and replays the log from the start.
    """

    name: ClassVar[str]
    event_types: ClassVar[tuple[str, ...]]
    models: ClassVar[tuple[type[models.Model], ...]]

    def project(self, events: list[RecordedEvent], *, rebuild: Rebuild | None = None) -> None:
        """Apply the batch. `rebuild`: this is a rebuild, which began with the tables empty."""
        raise NotImplementedError


class Rebuild:
    """What a rebuild lets a projector remember from batch to batch: the runner holds the projector
    throughout, and the tables were empty at the start, so nothing else writes them meanwhile."""

    def __init__(self) -> None:
        #: Keys of the rows written so far (RowProjector): no other row exists.
        self.written: set[tuple[Hashable, ...]] = set()
        #: Whatever else the projector keeps from earlier events meanwhile, by its own names.
        self.memory: dict[str, Any] = {}


class RowProjector(Projector):
    """A read model of rows, each folded from the events about it (an order, a day, a product).

    A batch loads the rows its events touch in one query, folds the events into them in memory, in
    order, and writes the changed rows back in one upsert: a rebuild costs a few statements per
    batch, not one per event. `key_fields` must be the model's primary key or unique together.
    An event that changes several rows (an order's products) names them in `keys` and is folded
    into each by `fold_row`.
    """

    model: ClassVar[type[models.Model]]
    key_fields: ClassVar[tuple[str, ...]]

    def key(self, event: RecordedEvent) -> tuple[Hashable, ...] | None:
        """The key of the row the event changes (values of `key_fields`), or None for no row."""
        raise NotImplementedError

    def keys(self, event: RecordedEvent) -> Iterable[tuple[Hashable, ...]]:
        """The keys of the rows the event changes: `key`'s, unless an event changes several rows."""
        key = self.key(event)
        return () if key is None else (key,)

    def fold(self, row: dict[str, Any] | None, event: RecordedEvent) -> dict[str, Any]:
        """The row's field values after the event (`row`: before it, None if there is no row yet;
        a copy, the projector may change it). The key fields are set on a new row by the caller."""
        raise NotImplementedError

    def fold_row(self, row: dict[str, Any] | None, event: RecordedEvent, key: tuple[Hashable, ...]) -> dict[str, Any]:
        """`fold` for the row of `key`: for a projector whose events change several rows."""
        return self.fold(row, event)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "model" in cls.__dict__:
            cls.models = (cls.model,)

    def project(self, events: list[RecordedEvent], *, rebuild: Rebuild | None = None) -> None:
        keyed = [(key, event) for event in events for key in self.keys(event)]
        touched = {key for key, _ in keyed}
        # In a rebuild only the rows it wrote exist: the others need no query.
        before = self._load(touched if rebuild is None else touched & rebuild.written)
        rows = dict(before)
        for key, event in keyed:
            row = self.fold_row(dict(rows[key]) if key in rows else None, event, key)
            row.update(zip(self.key_fields, key, strict=True))
            rows[key] = row
        changed = {key: row for key, row in rows.items() if row != before.get(key)}
        if changed:
            _upsert(self.model, self.key_fields, list(changed.values()))
            self.rows_written(before, changed)
        if rebuild is not None:
            rebuild.written |= touched

    def rows_written(
        self, before: dict[tuple[Hashable, ...], dict[str, Any]], after: dict[tuple[Hashable, ...], dict[str, Any]]
    ) -> None:
        """Called in the batch's transaction once its changed rows are written: `after` those rows
        by key, `before` the rows as the batch found them (a new row's key is absent). For a read
        model kept from the rows themselves (the order summaries' counts by day); nothing here."""

    def _load(self, keys: set[tuple[Hashable, ...]]) -> dict[tuple[Hashable, ...], dict[str, Any]]:
        if not keys:
            return {}
        first = self.key_fields[0]
        # Loaded by the first key field, matched on the whole key here: one indexed query.
        found = self.model.objects.filter(**{f"{first}__in": {key[0] for key in keys}}).values(*self._fields())
        loaded = {tuple(row[f] for f in self.key_fields): row for row in found}
        return {key: row for key, row in loaded.items() if key in keys}

    @classmethod
    def _fields(cls) -> list[str]:
        return [f.attname for f in cls.model._meta.concrete_fields if not isinstance(f, models.AutoField)]


#: From this many rows, PostgreSQL gets them by COPY (a rebuild's batches); fewer (a run after a
#: commit) go as one prepared statement per row, in a pipeline.
COPY_FROM_ROWS = 200


def _upsert(model: type[models.Model], key_fields: tuple[str, ...], rows: list[dict[str, Any]]) -> None:
    """Insert the rows, or update those whose key exists.

    Django's bulk_create(update_conflicts=True) cost more than a rebuild's reading and folding
    together: it prepares every value through its field and, on PostgreSQL, quotes the rows'
    arrays into the SQL text. Here each field's values are converted by a function chosen once per
    field. Many rows are copied into a session's staging table and upserted from it in one
    statement (a statement of hundreds of rows of parameters was slower: planned anew each time).
    """
    connection = connections[router.db_for_write(model)]
    fields = [f for f in model._meta.concrete_fields if not isinstance(f, models.AutoField)]
    defaults = [(f.attname, f.get_default()) for f in fields]
    values = [[row.get(name, default) for name, default in defaults] for row in rows]
    for column, field in enumerate(fields):
        if (to_db := _converter(field, connection)) is not None:
            for row_values in values:
                row_values[column] = to_db(row_values[column])
    quote = connection.ops.quote_name
    table, columns = quote(model._meta.db_table), tuple(quote(f.column) for f in fields)
    keys = tuple(quote(model._meta.get_field(name).column) for name in key_fields)
    one_row = _upsert_sql(table, columns, keys, "VALUES (" + ", ".join(["%s"] * len(columns)) + ")")
    with connection.wrap_database_errors:
        connection.ensure_connection()
        if connection.vendor != "postgresql":
            with connection.cursor() as cursor:
                cursor.executemany(one_row, values)
            return
        with psycopg.Cursor(connection.connection) as cursor:
            if len(values) < COPY_FROM_ROWS:
                cursor.executemany(one_row, values)
                return
            # The staging table lives as long as the session; its name changes with the columns.
            names = ", ".join(columns)
            stage = quote(f"stage_{model._meta.db_table}_{zlib.crc32(names.encode()):08x}")
            cursor.execute(f"CREATE TEMPORARY TABLE IF NOT EXISTS {stage} AS SELECT {names} FROM {table} WITH NO DATA")
            with cursor.copy(f"COPY {stage} ({names}) FROM STDIN") as copy:
                for row in values:
                    copy.write_row(row)
            cursor.execute(_upsert_sql(table, columns, keys, f"SELECT {names} FROM {stage}"))
            cursor.execute(f"TRUNCATE {stage}")


@functools.cache
def _upsert_sql(table: str, columns: tuple[str, ...], keys: tuple[str, ...], source: str) -> str:
    """INSERT of `source`'s rows into `table`, updating the rows whose `keys` exist (names quoted)."""
    updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c not in keys)
    return (
        f"INSERT INTO {table} ({', '.join(columns)}) {source} ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {updates}"
    )


def _converter(field: models.Field, connection) -> Callable[[Any], Any] | None:
    """How the field's values go to the database; None: as they are."""
    if isinstance(field, models.JSONField):
        # Text, which both databases take for a JSON column (Django would wrap it per value).
        return lambda value: None if value is None else json.dumps(value, cls=field.encoder)
    if connection.vendor == "postgresql":
        return None  # psycopg binds str, int, Decimal, date, aware datetime and UUID as they are
    return lambda value: field.get_db_prep_save(value, connection)


_projectors: Registry[Projector] = Registry("projector")
#: Declare a projector (from an AppConfig.ready); the same name twice is an error.
register = _projectors.register
registered = _projectors.registered
projector = _projectors.get


def matching(event_types: Iterable[str]) -> list[Projector]:
    """The projectors that handle any of these event types."""
    wanted = set(event_types)
    return [p for p in _projectors.registered() if wanted.intersection(p.event_types)]
