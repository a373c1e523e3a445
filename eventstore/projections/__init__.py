"""Projectors and read models (docs/design.md section 5).

A component declares one projector per read model in its `projections` module and registers it
when its app is ready. Most are `RowProjector`s: a row per key, folded from the events about it::

    class ShipmentsBoardProjector(RowProjector):
        name = "shipments_board"
        event_types = ("ShipmentRequested", "ShipmentDispatched", ...)
        model, key_fields = ShipmentBoardRow, ("order_id",)

        def key(self, event):          return (event.data["order_id"],)
        def fold(self, row, event):    ...  # the row after the event

One runner at a time applies a projector (a leased row); each batch of read-model changes commits
with the checkpoint. Runs follow commits and beat's sweep; `rebuild` empties the tables and
replays the log with a progress bar (`manage.py projections status | rebuild NAME | --all`).

A projector whose code fails on an event stops just before it, says so (its row, the admin,
`projections status`, /metrics, /healthz) and is tried again after a backoff, the others going on;
once the code is fixed it folds the event and goes on, or staff skip the event with a reason
(`projections skip NAME --reason ...`).

The modules: `projectors` (declaring), `runner` (running, rebuilding), `failures` (a failing
projector's row and backoff), `skipping` (staff's skip), `transport` (when runs happen), `status`
(lag, failures).
"""

from eventstore.projections.failures import Failure, retry_now
from eventstore.projections.projectors import (
    Projector,
    Rebuild,
    RowProjector,
    matching,
    projector,
    register,
    registered,
)
from eventstore.projections.runner import ProjectorBusy, Ran, RebuildRunning, pending_projectors, rebuild, run
from eventstore.projections.skipping import Skipped, SkipRefused, skip_failed_event
from eventstore.projections.status import ProjectorStatus, failing, status
from eventstore.projections.transport import request_rebuild, request_run, run_after_commit, sweep

__all__ = [
    "Failure",
    "ProjectorBusy",
    "ProjectorStatus",
    "Projector",
    "Ran",
    "Rebuild",
    "RebuildRunning",
    "RowProjector",
    "SkipRefused",
    "Skipped",
    "failing",
    "matching",
    "pending_projectors",
    "projector",
    "rebuild",
    "register",
    "registered",
    "request_rebuild",
    "request_run",
    "retry_now",
    "run",
    "run_after_commit",
    "skip_failed_event",
    "status",
    "sweep",
]
