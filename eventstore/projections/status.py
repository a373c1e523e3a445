"""How far behind each projector is, and whether it is failing (admin, `manage.py projections
status`, /metrics, /healthz).

The lag is counted up to a cap (eventstore.lag).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from django.db.models import Q

from eventstore import lag, leases
from eventstore.models import Event, ProjectorState
from eventstore.projections.failures import Failure, failure
from eventstore.projections.projectors import Projector, registered
from eventstore.projections.runner import is_rebuild
from eventstore.store import START, Checkpoint


@dataclass(frozen=True)
class ProjectorStatus(lag.Shown):
    name: str
    checkpoint: Checkpoint
    lag_events: int  # events of its types after the checkpoint (up to lag.COUNT_CAP)
    lag_seconds: float  # the age of the oldest of them (0 when none)
    running: bool
    rebuilding: bool
    failure: Failure | None = None  # the event its code failed on and the error; None: not failing

    @property
    def failing(self) -> bool:
        return self.failure is not None

    @property
    def failed_attempts(self) -> int:
        """Attempts in a row that failed on the event it stopped at; 0 when not failing."""
        return self.failure.failures if self.failure else 0


def status(projector: Projector) -> ProjectorStatus:
    state = ProjectorState.objects.filter(name=projector.name).first()
    checkpoint = Checkpoint(state.transaction_id, state.position) if state else START
    behind = Event.objects.filter(
        Q(transaction_id__gt=checkpoint.transaction_id)
        | Q(transaction_id=checkpoint.transaction_id, position__gt=checkpoint.position),
        event_type__in=projector.event_types,
    )
    oldest = behind.order_by("transaction_id", "position").values_list("recorded_at", flat=True).first()
    holder = leases.holder(state) if state else None
    return ProjectorStatus(
        name=projector.name,
        checkpoint=checkpoint,
        lag_events=behind[: lag.COUNT_CAP].count(),
        lag_seconds=(datetime.now(UTC) - oldest).total_seconds() if oldest else 0.0,
        running=holder is not None,
        rebuilding=is_rebuild(holder),
        failure=failure(state),
    )


def failing() -> dict[str, Failure]:
    """The failures of the registered projectors that are failing, by name: one query (/healthz)."""
    names = [projector.name for projector in registered()]
    rows = ProjectorState.objects.filter(name__in=names, failed_event_id__isnull=False).order_by("name")
    return {row.name: failure(row) for row in rows}
