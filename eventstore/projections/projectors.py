"""Declaring projectors: what a projector is, the keyed-row projector most read models are, and
the registry the apps fill when ready."""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from typing import Any, ClassVar

from django.db import models

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
        changed = [self.model(**row) for key, row in rows.items() if row != before.get(key)]
        if changed:
            self.model.objects.bulk_create(
                changed,
                update_conflicts=True,
                unique_fields=list(self.key_fields),
                update_fields=[f for f in self._fields() if f not in self.key_fields],
            )

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
