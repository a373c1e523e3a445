"""The event store in the admin: the log and snapshots (`log`), the consumer groups' parked
messages (`consumers`), and the processing page with every group's and projector's lag and
actions (`processing`). What every admin builds on (`NeverWrites`, `FilterLookupsOnly`, the
read-only bases, `ReadModelAdmin` for the components' read models) is `toolkit`: import it from there."""

from eventstore.admin.consumers import ParkedMessageAdmin
from eventstore.admin.log import EventAdmin, SnapshotAdmin
from eventstore.admin.processing import ProcessingAdmin
from eventstore.admin.toolkit import (
    CappedCountPaginator,
    FilterLookupsOnly,
    NeverWrites,
    ReadModelAdmin,
    ReadOnlyAdmin,
)

__all__ = [
    "CappedCountPaginator",
    "EventAdmin",
    "FilterLookupsOnly",
    "NeverWrites",
    "ParkedMessageAdmin",
    "ProcessingAdmin",
    "ReadModelAdmin",
    "ReadOnlyAdmin",
    "SnapshotAdmin",
]
