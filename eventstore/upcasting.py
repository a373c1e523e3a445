"""Events that evolve: schema versions and upcasters (docs/design.md, "Events that evolve").

An event type's data changes shape over time; the events already stored keep the shape they were
written in, and are never rewritten. Each stored event says its shape in its metadata,
`schema_version` (1 when absent: every event written before versions were recorded). A component
that changes an event's shape declares, in its module `upcasters.py`, one upcaster per step::

    @upcaster("OrderCancelled", from_version=1)
    def requested_by_unknown(data: dict, metadata: dict) -> dict:
        return {**data, "requested_by": "unknown"}

    UPCASTERS = (requested_by_unknown,)

An upcaster turns the data of version n into version n + 1 (it may read the metadata, and returns a
new dict, never changing the one it is given). The current version of an event type is the highest
its chain reaches (1 with no upcaster). Two steps, through `eventstore.mapping`:

- on the way in, each new event is stamped with the current version of its type. A version the
  caller set itself is kept, if it is one the chain can read (from 1 to the current one): an
  import or a test can write the shape old code wrote; a version past the current one, which no
  code here could read, is refused.
- on the way out, an event older than its type's current version goes up the chain, step by step,
  and its metadata says the version it now has. A type with no upcaster costs one dict lookup; an
  event of a version above the current one (written by newer code, during a rolling deploy) is
  returned as it is: the codec ignores fields it does not know.

Every read of the store goes through `eventstore.mapping.on_read`, so aggregates, consumer groups,
projectors and rebuilds all see the current shape; the admin's event page shows the row as stored
beside it. An aggregate's snapshot, folded from the shapes of its time, is not upcast: its schema
includes the versions its event types have gained, so an older one is ignored and the stream
replayed (eventstore.repository).

The chains are checked as each component registers its upcasters, when its app is ready: a hole
(1 -> 2 and 3 -> 4 but no 2 -> 3) or two upcasters for one step raise ImproperlyConfigured (as
does declaring a step from below 1), so the site, its workers and every manage.py command refuse
to start rather than read some events in a shape the code does not expect. The upcasters of an
event type are declared by the component that owns the type, in one module, so a chain is whole
once it is registered.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

from django.core.exceptions import ImproperlyConfigured

from eventstore import mapping
from eventstore.store_types import NewEvent, RecordedEvent

VERSION_KEY = "schema_version"

UpcastFunction = Callable[[dict[str, Any], dict[str, Any]], dict[str, Any]]


@dataclass(frozen=True)
class Upcaster:
    """One step of an event type's chain: data of `from_version` to data of `from_version + 1`."""

    event_type: str
    from_version: int
    upcast: UpcastFunction

    def __post_init__(self) -> None:
        if not isinstance(self.event_type, str) or not self.event_type:
            raise ImproperlyConfigured(f"An upcaster's event type is a name, not {self.event_type!r}.")
        if isinstance(self.from_version, bool) or not isinstance(self.from_version, int) or self.from_version < 1:
            raise ImproperlyConfigured(
                f"{self.event_type}: an upcaster from version {self.from_version!r} (versions are 1, 2, ...)."
            )

    def __call__(self, data: dict[str, Any], metadata: dict[str, Any]) -> dict[str, Any]:
        return self.upcast(data, metadata)

    @property
    def step(self) -> str:
        return f"{self.from_version} -> {self.from_version + 1}"

    @property
    def name(self) -> str:
        """The step and where it is declared: `OrderCancelled 1 -> 2 (orders.upcasters.f)`."""
        return f"{self.event_type} {self.step} ({self.upcast.__module__}.{self.upcast.__qualname__})"


def upcaster(event_type: str, *, from_version: int) -> Callable[[UpcastFunction], Upcaster]:
    """Declare a function `(data, metadata) -> data` as the upcaster of one step."""

    def declare(function: UpcastFunction) -> Upcaster:
        return Upcaster(event_type, from_version, function)

    return declare


@dataclass(frozen=True)
class _Chain:
    """An event type's upcasters, in order: `steps[n]` upcasts version n + 1."""

    steps: tuple[Upcaster, ...]

    @property
    def current(self) -> int:
        return len(self.steps) + 1

    def upcast(self, event: RecordedEvent, version: int) -> RecordedEvent:
        data, metadata = event.data, event.metadata
        for step in self.steps[version - 1 :]:
            data = step(data, metadata)
        return replace(event, data=data, metadata={**metadata, VERSION_KEY: self.current})


def stored_version(event: RecordedEvent) -> int:
    """The version an event was written in: its metadata's, 1 when it has none."""
    version = event.metadata.get(VERSION_KEY, 1)
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ValueError(
            f"Event {event.event_id} ({event.event_type}) has a schema version {version!r}, not 1 or more."
        )
    return version


def steps_for(event_type: str, version: int) -> tuple[Upcaster, ...]:
    """The upcasters an event of `event_type` written in `version` goes through when it is read."""
    chain = _chains.get(event_type)
    return () if chain is None else chain.steps[version - 1 :]


_registered: list[Upcaster] = []
#: event type -> its chain; only types with an upcaster are here.
_chains: dict[str, _Chain] = {}


def install() -> None:
    """Add the schema-version steps to eventstore.mapping (when the event store's app is ready)."""
    mapping.add_step(write=stamp, read=upcast)


def register(upcasters: tuple[Upcaster, ...]) -> None:
    """Register a component's upcasters (its `upcasters.UPCASTERS`); ImproperlyConfigured if the
    chains, with them, have a hole or a step declared twice. Registering the same ones again (an
    app readied again) changes nothing."""
    for declared in upcasters:
        if not isinstance(declared, Upcaster):
            raise ImproperlyConfigured(
                f"{declared!r} is not an upcaster: declare it with @upcaster(type, from_version=n)."
            )
    new = [u for u in upcasters if u not in _registered]
    if new:
        chains = _chains_of([*_registered, *new])
        _registered.extend(new)
        _chains.clear()
        _chains.update(chains)


def current_version(event_type: str) -> int:
    """The version new events of `event_type` are written in: the top of its chain, 1 with none."""
    chain = _chains.get(event_type)
    return 1 if chain is None else chain.current


def versions_added(event_types: tuple[str, ...]) -> int:
    """How many versions these event types have gained in all (0 while none has an upcaster).

    The repository adds it to an aggregate's snapshot schema: it only ever grows, so a snapshot
    folded from events of older shapes is never taken for one of the new shapes.
    """
    return sum(current_version(event_type) - 1 for event_type in event_types)


def stamp(stream_id: str, events: list[NewEvent]) -> list[NewEvent]:
    """The write step: each event with its schema version in its metadata."""
    stamped = []
    for event in events:
        current = current_version(event.event_type)
        given = event.metadata.get(VERSION_KEY)
        if given is None:
            event = replace(event, metadata={**event.metadata, VERSION_KEY: current})
        elif isinstance(given, bool) or not isinstance(given, int) or not 1 <= given <= current:
            raise ValueError(
                f"{event.event_type} of stream {stream_id!r}: schema version {given!r} is not one this code "
                f"can read (1 to {current})."
            )
        stamped.append(event)
    return stamped


def upcast(events: list[RecordedEvent]) -> list[RecordedEvent]:
    """The read step: events of an older version in the current shape; the others as they are."""
    chains = _chains
    if not chains:
        return events
    read = events
    for n, event in enumerate(events):
        chain = chains.get(event.event_type)
        if chain is None:
            continue
        version = stored_version(event)
        if version < chain.current:
            if read is events:
                read = list(events)
            read[n] = chain.upcast(event, version)
    return read


@contextmanager
def registered_too(*upcasters: Upcaster) -> Iterator[None]:
    """For tests: these upcasters registered as well, until the block ends."""
    saved_registered, saved_chains = list(_registered), dict(_chains)
    try:
        register(upcasters)
        yield
    finally:
        _registered[:] = saved_registered
        _chains.clear()
        _chains.update(saved_chains)


def _chains_of(upcasters: list[Upcaster]) -> dict[str, _Chain]:
    """The chains of these upcasters, by event type; ImproperlyConfigured naming every problem."""
    by_type: dict[str, dict[int, list[Upcaster]]] = {}
    for u in upcasters:
        by_type.setdefault(u.event_type, {}).setdefault(u.from_version, []).append(u)
    problems = []
    for event_type, steps in sorted(by_type.items()):
        for from_version, declared in sorted(steps.items()):
            if len(declared) > 1:
                names = "; ".join(u.name for u in declared)
                problems.append(f"{event_type}: two upcasters for {from_version} -> {from_version + 1} ({names}).")
        top = max(steps)
        if missing := [v for v in range(1, top) if v not in steps]:
            holes = ", ".join(f"{v} -> {v + 1}" for v in missing)
            declared = "; ".join(u.name for v in sorted(steps) for u in steps[v])
            problems.append(
                f"{event_type}: no upcaster for {holes}, so the chain from 1 to {top + 1} has a hole"
                f" (declared: {declared})."
            )
    if problems:
        raise ImproperlyConfigured(
            "The upcaster chains cannot be used; an event would be read in a shape the code does not expect:\n- "
            + "\n- ".join(problems)
        )
    return {t: _Chain(tuple(steps[v][0] for v in sorted(steps))) for t, steps in by_type.items()}
