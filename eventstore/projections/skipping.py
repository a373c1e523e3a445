"""Skipping the event a failing projector stopped at: staff's way past an event its code cannot
fold (the admin's processing page and `manage.py projections skip NAME --reason ...` both call
`skip_failed_event`).

The skip is recorded in the log, like staff's skip of a parked message: a `ProjectorEventSkipped`
in the stream `projector-{name}`, saying which event (id, position, type, stream), the error's
type, why (the reason, required) and who (`metadata.user`); when is its `recorded_at`. It joins
the skipped event's flow (its correlation id), so an order's story shows that a read model left
one of its events out. The log is append-only, so the record cannot be changed afterwards, and it
is appended in the transaction that moves the projector's checkpoint past the event, so neither
happens without the other. The error's message is not copied into the log: it may quote a
customer's data, which the log keeps sealed (`eventstore.personal_data`); the row had it.

A rebuild folds the skipped event again: it meets the failure again if the code still cannot fold
it (and it is skipped again, with a second record).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from django.db import transaction

from eventstore import leases
from eventstore.models import ProjectorState
from eventstore.projections import failures
from eventstore.projections.failures import Failure
from eventstore.projections.projectors import Projector
from eventstore.projections.runner import lease, lease_length, release
from eventstore.projections.transport import request_run
from eventstore.store import ANY, EventStore, NewEvent

SKIPPED = "ProjectorEventSkipped"
SKIP_CATEGORY = "projector"
MAX_REASON_LENGTH = 2000


class SkipRefused(Exception):
    """The skip was not done (no reason, not failing, failing on another event, busy); the message
    says why. Nothing was written."""


@dataclass(frozen=True)
class Skipped:
    projector: str
    failure: Failure  # the failure it had on the event skipped
    reason: str
    user: str
    record_id: uuid.UUID  # the ProjectorEventSkipped appended


def skip_stream(name: str) -> str:
    return f"{SKIP_CATEGORY}-{name}"


def skip_failed_event(projector: Projector, *, reason: str, user: str, event_id: uuid.UUID | None = None) -> Skipped:
    """Move the failing `projector` past the event it fails on, recorded in the log with `reason`
    and `user`, and ask for a run, which goes on from the next event. With `event_id`, only if
    that is still the event it fails on (the page that offered the skip showed it). Raises
    `SkipRefused`."""
    reason = reason.strip()
    if not reason:
        raise SkipRefused("A skip needs a reason: say why the event may be left out of the read model.")
    if len(reason) > MAX_REASON_LENGTH:
        raise SkipRefused(f"The reason is longer than {MAX_REASON_LENGTH} characters.")
    holder = leases.new_holder("skip:")
    # A runner trying the event right now holds it for a moment: the skip does not wait for it.
    if not lease(projector, holder):
        raise SkipRefused(f"{projector.name} is running now: try the skip again in a moment.")
    try:
        skipped = _skip(projector, holder, reason=reason, user=user, event_id=event_id)
    finally:
        release(projector, holder)
    request_run(projector)
    return skipped


def _skip(projector: Projector, holder: str, *, reason: str, user: str, event_id: uuid.UUID | None) -> Skipped:
    state = ProjectorState.objects.get(name=projector.name)
    failed = failures.failure(state)
    if failed is None:
        raise SkipRefused(f"{projector.name} is not failing: there is no event to skip.")
    if event_id is not None and failed.event_id != event_id:
        raise SkipRefused(
            f"{projector.name} no longer fails on event {event_id} but on {failed.event_id}: "
            "look at the new failure before skipping it."
        )
    [event] = EventStore().get_all([failed.event_id])
    record = NewEvent(
        SKIPPED,
        {
            "projector": projector.name,
            "event_id": str(event.event_id),
            "position": event.position,
            "event_type": event.event_type,
            "stream_id": event.stream_id,
            "error_type": failed.error_type,
            "failures": failed.failures,
            "reason": reason,
        },
        {"correlation_id": event.correlation_id, "causation_id": str(event.event_id), "user": user},
    )
    with transaction.atomic():
        # The append is the transaction's first write (docs/design.md 3.1); the checkpoint, held
        # by this skip's lease, moves past the event only from just before it, as it was read.
        EventStore().append(skip_stream(projector.name), [record], ANY)
        moved = leases.renew(
            ProjectorState.objects.filter(
                name=projector.name, transaction_id=state.transaction_id, position=state.position
            ),
            holder,
            length=lease_length(),
            transaction_id=event.transaction_id,
            position=event.position,
            **failures.CLEARED,
        )
        if not moved:
            raise SkipRefused(f"{projector.name} moved on meanwhile: nothing was skipped.")
    return Skipped(projector=projector.name, failure=failed, reason=reason, user=user, record_id=record.event_id)
