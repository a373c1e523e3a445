"""What an event goes through between the code and the table, both ways.

The store calls `on_write` on the events of every append, before they are written, and `on_read`
on the events of every read, before they are returned; nothing else calls them. The steps are
registered by the modules that own them, when their app is ready:

- `eventstore.upcasting` stamps each new event with its schema version, and turns an old version
  into the current shape on the way out (docs/design.md, "Events that evolve");
- `eventstore.personal_data` seals customers' personal data on the way in and opens it on the
  way out (docs/design.md, "Personal data").

Write steps run in the order they were added, read steps in the reverse order: the last step to
touch an event on its way in is the first on its way out. A stored event is never rewritten; the
admin shows the row as stored beside `on_read` of it. With no step added, both are the identity.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from eventstore.store_types import NewEvent, RecordedEvent

WriteStep = Callable[[str, list[NewEvent]], list[NewEvent]]  # (stream id, events) -> events to write
ReadStep = Callable[[list[RecordedEvent]], list[RecordedEvent]]

_write_steps: list[WriteStep] = []
_read_steps: list[ReadStep] = []


def add_step(*, write: WriteStep | None = None, read: ReadStep | None = None) -> None:
    """Add a step; adding the same function twice adds it once (an app may be readied again)."""
    if write is not None and write not in _write_steps:
        _write_steps.append(write)
    if read is not None and read not in _read_steps:
        _read_steps.insert(0, read)


def remove_step(*, write: WriteStep | None = None, read: ReadStep | None = None) -> None:
    """For tests: take a step out again."""
    if write in _write_steps:
        _write_steps.remove(write)
    if read in _read_steps:
        _read_steps.remove(read)


def on_write(stream_id: str, events: list[NewEvent]) -> list[NewEvent]:
    for step in _write_steps:
        events = step(stream_id, events)
    return events


def on_read(events: list[RecordedEvent]) -> list[RecordedEvent]:
    if events:
        for step in _read_steps:
            events = step(events)
    return events


def as_read(row: Any) -> RecordedEvent:
    """A row of the log as stored (an `eventstore.models.Event`, for the admin's pages) as the code
    reads it: `on_read` of it. The row itself is left as it is."""
    stored = RecordedEvent(
        row.position,
        row.transaction_id,
        row.stream_id,
        row.version,
        row.event_id,
        row.event_type,
        copy.deepcopy(row.data),
        copy.deepcopy(row.metadata),
        row.recorded_at,
    )
    return on_read([stored])[0]
