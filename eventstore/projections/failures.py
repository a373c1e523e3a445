"""A projector whose code fails on an event (R25): recorded on its row, backed off, resumed.

The runner folds a batch; when the projector raises, the batch is rolled back and folded again one
event at a time, so the events before the failing one commit and the checkpoint stays just before
it. The row then says which event (position, id, type), the error (type, message, its last
frames), since when, how many attempts failed, and when the next is due: `backoff`, doubling
from BACKOFF_FIRST to BACKOFF_CAP. Until then no run tries it (a commit's run looks at the row
and gives up at once); the other projectors go on, each on its own row.

The failure is cleared by the commit that moves the checkpoint past the event: once the code is
fixed the event folds, or staff skip it (`eventstore.projections.skipping`). A rebuild starts
over, failure cleared, and meets the event again.

Database errors of the connection (OperationalError, InterfaceError: the database went away, a
lock timed out) are not the projector's: they end the run as before, and the next run tries again.
"""

from __future__ import annotations

import traceback
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db import InterfaceError, OperationalError

from eventstore import leases
from eventstore.models import ProjectorState
from eventstore.store import RecordedEvent

BACKOFF_FIRST = timedelta(seconds=1)
BACKOFF_CAP = timedelta(minutes=5)
#: The frames of the error kept on the row: where in the projector it failed, not the runner's.
TRACE_FRAMES = 6
#: An error's message is cut to this many characters on the row (an error may quote a whole row).
MESSAGE_LIMIT = 2000

#: The errors that are the database's, not the projector's code: they are not recorded.
NOT_THE_PROJECTORS = (OperationalError, InterfaceError)

#: The row's fields of a failure, as the commit that moves the checkpoint past the event writes them.
CLEARED = {
    "failures": 0,
    "failing_since": None,
    "next_attempt_at": None,
    "failed_event_id": None,
    "failed_event_position": None,
    "failed_event_type": "",
    "error_type": "",
    "error_message": "",
    "error_trace": "",
}


@dataclass(frozen=True)
class Failure:
    """A projector's failure, as the row has it."""

    event_id: uuid.UUID
    event_position: int
    event_type: str
    error_type: str
    error_message: str
    error_trace: str
    failures: int
    since: datetime
    next_attempt_at: datetime

    @property
    def error(self) -> str:
        """The error in one line: its type and message."""
        return f"{self.error_type}: {self.error_message}" if self.error_message else self.error_type

    def due(self, *, at: datetime | None = None) -> bool:
        """Whether its backoff is over: a run may try the event again."""
        return self.next_attempt_at <= (at or datetime.now(UTC))


def failure(state: ProjectorState | None) -> Failure | None:
    """The failure the row records; None when the projector is not failing."""
    if state is None or state.failed_event_id is None:
        return None
    return Failure(
        event_id=state.failed_event_id,
        event_position=state.failed_event_position,
        event_type=state.failed_event_type,
        error_type=state.error_type,
        error_message=state.error_message,
        error_trace=state.error_trace,
        failures=state.failures,
        since=state.failing_since,
        next_attempt_at=state.next_attempt_at,
    )


def backing_off(state: ProjectorState | None, *, at: datetime | None = None) -> bool:
    """Whether the projector is failing and its next attempt is not due yet."""
    failed = failure(state)
    return failed is not None and not failed.due(at=at)


def backoff(failures: int) -> timedelta:
    """How long to wait after the `failures`-th failed attempt in a row: 1 s, 2 s, 4 s ... 5 min."""
    return min(BACKOFF_CAP, BACKOFF_FIRST * 2 ** min(failures - 1, 32))


def record(name: str, holder: str, *, event: RecordedEvent, error: Exception, length: timedelta) -> Failure | None:
    """Write the failure of projector `name` on `event` on its row, as `holder`, renewing its lease
    for `length`; None if `holder` no longer holds it (nothing written)."""
    at = datetime.now(UTC)
    state = ProjectorState.objects.get(name=name)
    again = state.failed_event_id == event.event_id  # the same event failed before: back off longer
    failures = state.failures + 1 if again else 1
    changes = {
        "failures": failures,
        "failing_since": state.failing_since if again else at,
        "next_attempt_at": at + backoff(failures),
        "failed_event_id": event.event_id,
        "failed_event_position": event.position,
        "failed_event_type": event.event_type,
        "error_type": _qualified_name(type(error))[:200],
        "error_message": str(error)[:MESSAGE_LIMIT],
        "error_trace": _last_frames(error),
    }
    if not leases.renew(ProjectorState.objects.filter(name=name), holder, length=length, at=at, **changes):
        return None  # the lease ran out meanwhile: the runner that holds it now meets the event itself
    state.__dict__.update(changes)
    return failure(state)


def _qualified_name(kind: type) -> str:
    return kind.__qualname__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__qualname__}"


def _last_frames(error: Exception) -> str:
    # The first frame is the runner's, where the error was caught: the projector's come after it.
    frames = traceback.extract_tb(error.__traceback__)[1:][-TRACE_FRAMES:]
    return "".join(traceback.format_list(frames)).rstrip()


def retry_now(name: str) -> bool:
    """Make a failing projector's next attempt due now (staff asked for a run after a fix);
    whether it was failing."""
    failing = ProjectorState.objects.filter(name=name, failed_event_id__isnull=False)
    return failing.update(next_attempt_at=datetime.now(UTC)) > 0
