"""The event store in the admin: the log and snapshots (`log`), the consumer groups' parked
messages (`consumers`), and the processing page with every group's and projector's lag and
actions (`processing`). `ReadModelAdmin` is the base of the components' read-model admins."""

from eventstore.admin.consumers import ParkedMessageAdmin
from eventstore.admin.log import (
    CappedCountPaginator,
    EventAdmin,
    FilterLookupsOnly,
    NeverWrites,
    ReadOnlyAdmin,
    SnapshotAdmin,
)
from eventstore.admin.processing import ProcessingAdmin, ReadModelAdmin

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
