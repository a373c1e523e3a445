"""How far behind each projector is (admin, `manage.py projections status`, /metrics).

The lag is counted up to a cap (eventstore.lag).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from django.db.models import Q

from eventstore import lag, leases
from eventstore.models import Event, ProjectorState
from eventstore.projections.projectors import Projector
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
    )
