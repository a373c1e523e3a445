"""Tables of the event store: the append-only event log, the aggregate snapshots, and the state
of the consumer groups (partitions, tracking rows, deliveries, parked messages).

Events are written only by `eventstore.store.EventStore.append` (like Django's `LogEntry`, one
method writes the log). The model and its queryset refuse every other write, the admin is read
only, and on PostgreSQL a trigger refuses UPDATE and DELETE on the table itself.
"""

from django.db import models

from eventstore.store import (
    EVENT_TABLE,
    MAX_CORRELATION_ID_LENGTH,
    MAX_EVENT_TYPE_LENGTH,
    MAX_STREAM_ID_LENGTH,
    STREAM_VERSION_CONSTRAINT,
)


class AppendOnlyViolation(Exception):
    """An attempt to change or remove an event, or to write one around the store."""


_REFUSAL = "The event log is append-only: events are written by EventStore.append and never changed."


class EventQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AppendOnlyViolation(_REFUSAL)

    def delete(self):
        raise AppendOnlyViolation(_REFUSAL)

    def bulk_update(self, objs, fields, batch_size=None):
        raise AppendOnlyViolation(_REFUSAL)

    def bulk_create(self, objs, *args, **kwargs):
        raise AppendOnlyViolation(_REFUSAL)

    def update_or_create(self, *args, **kwargs):
        raise AppendOnlyViolation(_REFUSAL)


class Event(models.Model):
    """One recorded domain event. Read through `EventStore`; the ORM model serves the admin."""

    position = models.BigAutoField(primary_key=True)
    # The id of the writing transaction (PostgreSQL's pg_current_xact_id(), 0 on SQLite). Global
    # reads go in (transaction_id, position) order; see eventstore.store for why.
    transaction_id = models.BigIntegerField(default=0, editable=False)
    stream_id = models.CharField(max_length=MAX_STREAM_ID_LENGTH)
    category = models.CharField(max_length=MAX_STREAM_ID_LENGTH)
    version = models.PositiveIntegerField()
    event_id = models.UUIDField(unique=True)
    event_type = models.CharField(max_length=MAX_EVENT_TYPE_LENGTH)
    data = models.JSONField()
    metadata = models.JSONField()
    # A copy of metadata["correlation_id"], so a whole flow is one indexed lookup on any database.
    correlation_id = models.CharField(max_length=MAX_CORRELATION_ID_LENGTH)
    recorded_at = models.DateTimeField(db_index=True)

    objects = EventQuerySet.as_manager()

    class Meta:
        db_table = EVENT_TABLE
        constraints = [
            models.UniqueConstraint(fields=["stream_id", "version"], name=STREAM_VERSION_CONSTRAINT),
        ]
        indexes = [
            models.Index(fields=["transaction_id", "position"], name="eventstore_log_order"),
            models.Index(fields=["category", "transaction_id", "position"], name="eventstore_category_order"),
            models.Index(fields=["event_type", "transaction_id", "position"], name="eventstore_type_order"),
            # A plain index: db_index=True would add a LIKE index on PostgreSQL that nothing uses.
            models.Index(fields=["correlation_id"], name="eventstore_correlation"),
        ]

    def __str__(self) -> str:
        return f"{self.stream_id}@{self.version} {self.event_type}"

    def save(self, *args, **kwargs):
        raise AppendOnlyViolation(_REFUSAL)

    def delete(self, *args, **kwargs):
        raise AppendOnlyViolation(_REFUSAL)

    @property
    def causation_id(self) -> str | None:
        return self.metadata.get("causation_id")


class Snapshot(models.Model):
    """The latest snapshot of one aggregate's state; a cache, rebuilt from the stream if absent."""

    stream_id = models.CharField(max_length=MAX_STREAM_ID_LENGTH, primary_key=True)
    aggregate_type = models.CharField(max_length=100)
    # Bumped by the aggregate class when its state shape changes; older snapshots are ignored.
    schema_version = models.PositiveIntegerField()
    version = models.PositiveIntegerField()
    state = models.JSONField()
    recorded_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.stream_id}@{self.version}"


# --- consumer groups (eventstore.consumers) ------------------------------------------------------

MAX_GROUP_NAME_LENGTH = 100


class ConsumerPartition(models.Model):
    """One partition of a consumer group's work: how far it is settled, and who drains it now.

    Every matching event up to the checkpoint is acknowledged or parked. One runner at a time holds
    the lease; a runner that dies loses it when `leased_until` passes.
    """

    group = models.CharField(max_length=MAX_GROUP_NAME_LENGTH)
    partition = models.PositiveSmallIntegerField()
    transaction_id = models.BigIntegerField(default=-1)
    position = models.BigIntegerField(default=0)
    leased_until = models.DateTimeField()
    leased_by = models.CharField(max_length=64, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["group", "partition"], name="eventstore_one_partition_row"),
        ]

    def __str__(self) -> str:
        return f"{self.group}/{self.partition} at ({self.transaction_id}, {self.position})"


class ProcessedEvent(models.Model):
    """The tracking row: `group` has handled `event_id`, written in the handler's transaction."""

    group = models.CharField(max_length=MAX_GROUP_NAME_LENGTH)
    event_id = models.UUIDField()
    processed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["group", "event_id"], name="eventstore_processed_once")]

    def __str__(self) -> str:
        return f"{self.group}: {self.event_id}"


class Delivery(models.Model):
    """A message of a group not handled yet that failed or was redelivered: when to try it next."""

    group = models.CharField(max_length=MAX_GROUP_NAME_LENGTH)
    event_id = models.UUIDField()
    failures = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    next_attempt_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["group", "event_id"], name="eventstore_one_delivery")]
        verbose_name_plural = "deliveries"

    def __str__(self) -> str:
        return f"{self.group}: {self.event_id} ({self.failures} failures)"


class ParkedMessage(models.Model):
    """A message a group gave up on, with the reason; it waits to be replayed or skipped."""

    group = models.CharField(max_length=MAX_GROUP_NAME_LENGTH)
    event_id = models.UUIDField()
    position = models.BigIntegerField()
    stream_id = models.CharField(max_length=MAX_STREAM_ID_LENGTH)
    event_type = models.CharField(max_length=MAX_EVENT_TYPE_LENGTH)
    reason = models.TextField()
    failures = models.PositiveIntegerField(default=0)
    parked_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["group", "event_id"], name="eventstore_parked_once")]
        ordering = ["group", "position"]

    def __str__(self) -> str:
        return f"{self.group}: {self.event_type} {self.event_id}"


# --- projectors (eventstore.projections) ---------------------------------------------------------


class ProjectorState(models.Model):
    """A projector's checkpoint, committed with each batch of its read-model changes, and its runner.

    One runner at a time holds the lease (`leased_by`; a rebuild's holder starts with "rebuild:");
    a runner loses it when its session ends (PostgreSQL) or `leased_until` passes. A projector whose code fails on an
    event says so here, with the event and the error, until the event folds or is skipped.
    """

    name = models.CharField(primary_key=True, max_length=MAX_GROUP_NAME_LENGTH)
    transaction_id = models.BigIntegerField(default=-1)
    position = models.BigIntegerField(default=0)
    leased_until = models.DateTimeField()
    leased_by = models.CharField(max_length=64, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    # The event its code failed on, the error, and when to try again (eventstore.projections.
    # failures): the checkpoint stays just before that event. Cleared by the commit that moves the
    # checkpoint past it, whether the event folded or staff skipped it.
    failures = models.PositiveIntegerField(default=0)
    failing_since = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    failed_event_id = models.UUIDField(null=True, blank=True)
    failed_event_position = models.BigIntegerField(null=True, blank=True)
    failed_event_type = models.CharField(max_length=MAX_EVENT_TYPE_LENGTH, blank=True)
    error_type = models.CharField(max_length=200, blank=True)
    error_message = models.TextField(blank=True)
    error_trace = models.TextField(blank=True)

    class Meta:
        # Its admin entry is the processing page, which lists every group and projector.
        verbose_name = "processing status"
        verbose_name_plural = "consumer groups and projectors"
        # Skipping loses an event from a read model: a permission of its own, apart from running.
        permissions = [("skip_projector_event", "Can skip the event a failing projector stopped at")]

    def __str__(self) -> str:
        return f"{self.name} at ({self.transaction_id}, {self.position})"


# --- personal data (eventstore.personal_data) ----------------------------------------------------


class CustomerKey(models.Model):
    """A customer's key, which seals their personal data in the log (crypto-shredding).

    Not event-sourced, so that it can be destroyed: forgetting the customer empties `secret`, and
    every field sealed with it reads as erased from then on. `customer` is a keyed hash of the
    normalised email, never the email itself; a customer who comes back after being forgotten gets
    a new key (a new row), the old one stays destroyed.

    A customer may have two live keys: two transactions sealing a new customer's first events at
    once each make one, rather than the second waiting on the first's lock (no unique index);
    both seal, the oldest is used from then on, and forgetting destroys every one.
    """

    key_id = models.UUIDField(primary_key=True)
    customer = models.CharField(max_length=64, db_index=True)
    secret = models.BinaryField(null=True)  # 32 bytes of AES-256-GCM; None once destroyed
    created_at = models.DateTimeField(auto_now_add=True)
    destroyed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.customer} ({'destroyed' if self.destroyed_at else 'live'})"
