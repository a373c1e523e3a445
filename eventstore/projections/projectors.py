"""Declaring projectors: what a projector is, the keyed-row projector most read models are, and
the registry the apps fill when ready."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Hashable, Iterable
from typing import Any, ClassVar

import psycopg
from django.db import DEFAULT_DB_ALIAS, connections, models, router

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

    def project(self, events: list[RecordedEvent]) -> None:
        raise NotImplementedError


class RowProjector(Projector):
    """A read model of rows, each folded from the events about it (an order, a day, a product).

    A batch loads the rows its events touch in one query, folds the events into them in memory, in
    order, and writes the changed rows back in one upsert: a rebuild costs three statements per
    batch, not one per event. `key_fields` must be the model's primary key or unique together.
    """

    model: ClassVar[type[models.Model]]
    key_fields: ClassVar[tuple[str, ...]]

    def key(self, event: RecordedEvent) -> tuple[Hashable, ...] | None:
        """The key of the row the event changes (values of `key_fields`), or None for no row."""
        raise NotImplementedError

    def fold(self, row: dict[str, Any] | None, event: RecordedEvent) -> dict[str, Any]:
        """The row's field values after the event (`row`: before it, None if there is no row yet;
        a copy, the projector may change it). The key fields are set on a new row by the caller."""
        raise NotImplementedError

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "model" in cls.__dict__:
            cls.models = (cls.model,)

    def project(self, events: list[RecordedEvent]) -> None:
        keyed = [(key, event) for event in events if (key := self.key(event)) is not None]
        before = self._load({key for key, _ in keyed})
        rows = dict(before)
        for key, event in keyed:
            row = self.fold(dict(rows[key]) if key in rows else None, event)
            row.update(zip(self.key_fields, key, strict=True))
            rows[key] = row
        changed = [row for key, row in rows.items() if row != before.get(key)]
        if changed:
            _upsert(self.model, self.key_fields, changed)

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


def _upsert(model: type[models.Model], key_fields: tuple[str, ...], rows: list[dict[str, Any]]) -> None:
    """Insert the rows, or update those whose key exists: one prepared statement, run per row.

    Django's bulk_create(update_conflicts=True) cost more than the rebuild's reading and folding
    together: it prepares every value through its field and, on PostgreSQL, binds the rows as
    arrays quoted into the SQL text. Here each field's values are converted by a function chosen
    once per field, and PostgreSQL gets the rows as one prepared statement in a pipeline (a
    statement of hundreds of rows was slower: planned anew each time).
    """
    connection = connections[router.db_for_write(model)]
    fields = [f for f in model._meta.concrete_fields if not isinstance(f, models.AutoField)]
    convert = [(f.attname, _converter(f, connection), f.get_default) for f in fields]
    values = [
        [to_db(row[name]) if name in row else to_db(default()) for name, to_db, default in convert] for row in rows
    ]
    sql = _upsert_sql(connection.vendor, model._meta.db_table, tuple(f.column for f in fields), key_fields)
    with connection.wrap_database_errors:
        connection.ensure_connection()
        if connection.vendor == "postgresql":
            with psycopg.Cursor(connection.connection) as cursor:
                cursor.executemany(sql, values)
        else:
            with connection.cursor() as cursor:
                cursor.executemany(sql, values)


@functools.cache
def _upsert_sql(vendor: str, table: str, columns: tuple[str, ...], keys: tuple[str, ...]) -> str:
    quote = connections[DEFAULT_DB_ALIAS].ops.quote_name
    updates = ", ".join(f"{quote(c)} = excluded.{quote(c)}" for c in columns if c not in keys)
    return (
        f"INSERT INTO {quote(table)} ({', '.join(map(quote, columns))}) VALUES ({', '.join(['%s'] * len(columns))})"
        f" ON CONFLICT ({', '.join(map(quote, keys))}) DO UPDATE SET {updates}"
    )


def _converter(field: models.Field, connection) -> Callable[[Any], Any]:
    if isinstance(field, models.JSONField):
        # Text, which both databases take for a JSON column (Django would wrap it per value).
        return lambda value: None if value is None else json.dumps(value, cls=field.encoder)
    if connection.vendor == "postgresql":
        # psycopg binds str, int, Decimal, date, aware datetime and UUID as they are.
        return _as_is
    return lambda value: field.get_db_prep_save(value, connection)


def _as_is(value: Any) -> Any:
    return value


_projectors: dict[str, Projector] = {}


def register(projector: Projector) -> None:
    """Declare a projector (from an AppConfig.ready). Registering the same name twice is an error."""
    if _projectors.get(projector.name, projector) is not projector:
        raise ValueError(f"A projector named {projector.name!r} is already registered.")
    _projectors[projector.name] = projector


def registered() -> list[Projector]:
    return list(_projectors.values())


def projector(name: str) -> Projector:
    try:
        return _projectors[name]
    except KeyError:
        known = ", ".join(sorted(_projectors)) or "none"
        raise LookupError(f"No projector named {name!r} (known: {known}).") from None


def matching(event_types: Iterable[str]) -> list[Projector]:
    """The projectors that handle any of these event types."""
    wanted = set(event_types)
    return [p for p in _projectors.values() if wanted.intersection(p.event_types)]
