"""Declaring consumer groups: what a group is, and the registry the apps fill when ready."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

from eventstore.registry import Registry
from eventstore.store import Appended, RecordedEvent


class PermanentFailure(Exception):
    """The handler can never handle the message (it cannot be mapped, its content is invalid); it
    is parked with this reason. `subject`: what it is about (an order id), when known."""

    def __init__(self, reason: str, *, subject: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.subject = subject


@dataclass(frozen=True)
class Processed:
    """What a handler may return: it handled the message, which was about `subject` (an order id).
    Returning None says the same, about nothing in particular."""

    subject: str | None = None


@dataclass(frozen=True)
class Rejected:
    """What a handler returns when it refused the message as a business decision (an order id
    already placed with other content, a cancel after dispatch): the message is settled, whatever
    the handler appended commits, and its sender reads the reason in the message's outcome."""

    reason: str
    subject: str | None = None


class Waiting(Exception):
    """The message cannot be handled before an earlier one of the group's: the event `event_id` (a
    refund waits for its order's charge), or, without it, whichever of the events committed before
    this message the group still has in hand (a cancel ahead of its order).

    It is tried again after the group's first backoff, not counted as a failure, for as long as the
    group has neither handled nor parked what it waits for; those messages' own retries bound the
    wait. After that, a further `Waiting` is a transient failure like any other.
    """

    def __init__(self, reason: str, *, event_id: uuid.UUID | None = None) -> None:
        super().__init__(reason)
        self.event_id = event_id


@dataclass(frozen=True)
class ConsumerGroup:
    """A named subscription: which events, who handles them, on which Celery queue."""

    name: str
    queue: str
    handler: Callable[[RecordedEvent], Processed | Rejected | None]
    #: Filters; an event matches when it passes every filter given (an empty one passes all).
    categories: tuple[str, ...] = ()
    event_types: tuple[str, ...] = ()
    #: Failures before a message is parked; retries wait retry_base_seconds * 2 ** (failures - 1)
    #: (None: the CONSUMER_RETRY_BASE_SECONDS setting).
    max_retries: int = 5
    retry_base_seconds: float | None = None
    #: A finer filter on a matching event, by its type and metadata (it is given a RecordedEvent,
    #: or an Appended one): what it refuses is passed over, as if the group had never matched it.
    selector: Callable[[RecordedEvent | Appended], bool] | None = None
    #: For a group whose handler writes an outbox that another task sends (webhooks): asks for the
    #: sends that are due and returns how many. The groups' sweep (beat's, `consumers sweep`) calls
    #: it, so what a lost task or a stopped process left in the outbox is sent as its events are.
    sweep_outbox: Callable[[], int] | None = None

    def matches(self, *, category: str, event_type: str) -> bool:
        return (not self.categories or category in self.categories) and (
            not self.event_types or event_type in self.event_types
        )

    def accepts(self, event: RecordedEvent | Appended) -> bool:
        """Whether the group takes this event, which matches its filters."""
        return self.selector is None or self.selector(event)


_groups: Registry[ConsumerGroup] = Registry("consumer group")
#: Declare a group (from an AppConfig.ready); the same name twice is an error.
register = _groups.register
unregister = _groups.unregister
registered = _groups.registered


def takers(event: RecordedEvent | Appended) -> list[ConsumerGroup]:
    """The registered groups that take the event: it matches their filters and their selector."""
    return [
        g
        for g in _groups.registered()
        if g.matches(category=event.category, event_type=event.event_type) and g.accepts(event)
    ]


group = _groups.get
