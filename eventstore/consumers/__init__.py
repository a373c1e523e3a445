"""Consumer groups: durable, competing subscriptions to the log (docs/design.md section 4).

A component declares its group once, in its `reactions` module, as a table from event type to
reaction (`reacting`, in `reactions`); installing its app registers it (`eventstore.components`)::

    GROUP = consumers.reacting(
        "billing", {"OrderPlaced": on_order_placed, "OrderCancelled": on_order_cancelled},
        dependencies=bootstrap.build,
    )

    def on_order_placed(event: RecordedEvent, deps: Dependencies) -> None:  # in a transaction
        ...                                                               # load, decide, append

The handler is called once per matching event, inside a transaction that also writes the group's
tracking row for the event, so an event redelivered after the commit has no second effect. It may
return `Processed(subject=...)` (handled; about that order) or `Rejected(reason, subject=...)`
(refused as a business decision: settled, its writes commit); for a raw input message the
mechanism records either as the message's outcome (`eventstore.outcomes`). What it raises decides
what happens next:

- `PermanentFailure(reason)`: the message can never be handled (it cannot be mapped, its content
  is invalid): parked at once with the reason, nothing written.
- `Waiting(reason, event_id=None)`: the message must wait for an earlier one the group has not
  settled yet, the event `event_id` (a refund for its order's charge) or any committed before it
  (a cancel ahead of its order): tried again after the first backoff, not counted as a failure
  while the group has that in hand. The one policy for input out of order: a handler that must
  know first raises it through `wait_for_earlier(group, event, among=...)`.
- a `ConcurrencyError` of the store: another writer got there first; the whole transaction is tried
  again at once.
- anything else: transient; retried with exponential backoff, parked after `max_retries` failures.

Parked messages stay until replayed or skipped (admin, `manage.py consumers`). Nothing is dropped.

The modules: `groups` (declaring), `reactions` (a component's table), `handling` (one message,
once), `partitions` (a group's work in partitions, each drained by one runner at a time),
`transport` (on commit, the sweep, replays), `status` (lag).
"""

from eventstore.consumers.groups import (
    ConsumerGroup,
    PermanentFailure,
    Processed,
    Rejected,
    Waiting,
    group,
    register,
    registered,
    takers,
)
from eventstore.consumers.handling import deliver, handle, replay_parked, skip_parked, wait_for_earlier
from eventstore.consumers.partitions import Drained, drain, partition_of, pending_partitions
from eventstore.consumers.reactions import Reactions, reacting
from eventstore.consumers.status import GroupStatus, status
from eventstore.consumers.transport import redeliver_parked, request_drain, send, send_after_commit, sweep

__all__ = [
    "ConsumerGroup",
    "Drained",
    "GroupStatus",
    "PermanentFailure",
    "Processed",
    "Reactions",
    "Rejected",
    "Waiting",
    "deliver",
    "drain",
    "group",
    "handle",
    "partition_of",
    "pending_partitions",
    "reacting",
    "redeliver_parked",
    "register",
    "registered",
    "replay_parked",
    "request_drain",
    "send",
    "send_after_commit",
    "skip_parked",
    "status",
    "sweep",
    "takers",
    "wait_for_earlier",
]
