"""A component's consumer group as one table: event type -> reaction(event, dependencies).

Every component declares its group the same way, in its `reactions` module::

    GROUP = consumers.reacting(
        "billing",
        {"OrderPlaced": on_order_placed, "OrderCancelled": on_order_cancelled},
        dependencies=bootstrap.build,
    )

    def on_order_placed(event: RecordedEvent, deps: bootstrap.Dependencies) -> None: ...

The table gives the group its event types; `dependencies` (the component's bootstrap) builds what
the reactions need (repositories, the payment provider) once per message, so a test hands in fakes
with `GROUP.handler.using(...)` or by calling a reaction itself. `applies` keeps the raw input
messages whose `applies` is another component's away from the group.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from eventstore.consumers.groups import ConsumerGroup, Processed, Rejected
from eventstore.outcomes import MESSAGE_TYPE
from eventstore.store import Appended, RecordedEvent

Reaction = Callable[[RecordedEvent, Any], Processed | Rejected | None]


@dataclass(frozen=True)
class Reactions:
    """A group's handler: the reaction to the event's type, given freshly built dependencies."""

    table: Mapping[str, Reaction]
    dependencies: Callable[[], Any] = field(default=lambda: None)

    def __call__(self, event: RecordedEvent) -> Processed | Rejected | None:
        reaction = self.table.get(event.event_type)  # none: not an event the group reacts to
        return None if reaction is None else reaction(event, self.dependencies())

    def using(self, dependencies: Callable[[], Any]) -> Reactions:
        """The same reactions, given other dependencies (fakes, in a test)."""
        return Reactions(self.table, dependencies)


@dataclass(frozen=True)
class AppliesTo:
    """A selector: raw input messages whose `applies` is this one, and every other event."""

    applies: str

    def __call__(self, event: RecordedEvent | Appended) -> bool:
        return event.event_type != MESSAGE_TYPE or event.metadata.get("applies") == self.applies


def reacting(
    name: str,
    table: Mapping[str, Reaction],
    *,
    dependencies: Callable[[], Any],
    applies: str | None = None,
    queue: str | None = None,
    **options: Any,
) -> ConsumerGroup:
    """The consumer group `name` (on the queue of the same name unless told) reacting to the events
    of the table's types; `options` are ConsumerGroup's (max_retries, sweep_outbox, ...)."""
    return ConsumerGroup(
        name=name,
        queue=queue or name,
        event_types=tuple(table),
        handler=Reactions(dict(table), dependencies),
        selector=None if applies is None else AppliesTo(applies),
        **options,
    )
