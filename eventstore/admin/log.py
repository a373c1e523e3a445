"""The event log and the snapshots in the admin: read only, and quick on a log of millions of events.

Every query the change list runs is served by an index of `eventstore_event`:

- the default order, newest first, is ("-transaction_id", "-position"), the log's own order, read
  backwards from the (transaction_id, position) index; the category and event type filters read
  the (category | event_type, transaction_id, position) indexes the same way;
- a stream (`?stream_id=`) is listed in version order through the (stream_id, version) index, a
  flow (`?correlation_id=`) in log order through the correlation_id index, and a date range
  newest first through the recorded_at index (`EventAdmin.get_ordering` says why);
- sorting is by position only (`toolkit.SortableByOnlyChangeList`);
- the filter choices come from a loose index scan, not SELECT DISTINCT (`indexed_values`);
- the paginator never counts the whole table (`toolkit.CappedCountPaginator`), and facet counts are off;
- search is an exact match on stream id, correlation id or event id, or a bare order id (42: the
  streams of its story, order-42, payment-42, ..., one per category a component adds to an
  order's story), never a LIKE '%...%' scan;
- only those lookups are accepted in the query string (`EventAdmin.allowed_lookups`).

An event's page shows the row as stored and, beside it, the event as the code reads it now
(`eventstore.mapping.as_read`: upcast to its type's current schema version), with the version it
was written in and the upcasters it goes through. Nothing on the page changes the row.
"""

from __future__ import annotations

import uuid

from django.contrib import admin
from django.db import connections, router
from django.db.models import Model, QuerySet
from django.http import HttpRequest
from django.utils.safestring import SafeString

from eventstore import components, mapping, upcasting
from eventstore.admin.toolkit import ReadOnlyAdmin, event_list_link, pretty_json
from eventstore.models import Event, Snapshot
from eventstore.store_types import RecordedEvent


def indexed_values(model: type[Model], column: str) -> list[str]:
    """The distinct non-null values of `column`, one index probe per value (a "loose index scan").

    SELECT DISTINCT reads the whole table; this recursive query jumps from each value to the next
    one through an index whose leading column is `column`. It runs on PostgreSQL and SQLite alike.
    """
    connection = connections[router.db_for_read(model)]
    table, name = connection.ops.quote_name(model._meta.db_table), connection.ops.quote_name(column)
    sql = (
        f"WITH RECURSIVE t(v) AS (SELECT MIN({name}) FROM {table}"
        f" UNION ALL SELECT (SELECT MIN({name}) FROM {table} WHERE {name} > t.v) FROM t WHERE t.v IS NOT NULL)"
        " SELECT v FROM t WHERE v IS NOT NULL"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return [row[0] for row in cursor.fetchall()]


class IndexedValueFilter(admin.SimpleListFilter):
    """A filter on an indexed column of the log; `parameter_name` is the column."""

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [(value, value) for value in indexed_values(model_admin.model, self.parameter_name)]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        value = self.value()
        return queryset if value is None else queryset.filter(**{self.parameter_name: value})


class CategoryFilter(IndexedValueFilter):
    title = "category"
    parameter_name = "category"


class EventTypeFilter(IndexedValueFilter):
    title = "event type"
    parameter_name = "event_type"


@admin.register(Event)
class EventAdmin(ReadOnlyAdmin):
    list_display = ("position", "stream", "version", "event_type", "recorded_at", "short_flow")
    list_display_links = ("position",)
    list_filter = (CategoryFilter, EventTypeFilter, ("recorded_at", admin.DateFieldListFilter))
    # Other columns have no index that serves their order over the whole log.
    sortable_by = ("position",)
    ordering = ("-transaction_id", "-position")
    search_fields = ("stream_id__exact", "correlation_id__exact")
    search_help_text = "An exact order id (42: its whole story), stream id (order-42), correlation id or event id."
    fields = (
        "position",
        "event_id",
        "stream",
        "category",
        "version",
        "event_type",
        "recorded_at",
        "transaction_id",
        "flow",
        "cause",
        "schema",
        "pretty_data",
        "data_as_read",
        "pretty_metadata",
    )
    readonly_fields = fields

    allowed_lookups = frozenset(
        {"stream_id", "correlation_id", "event_id", "category", "event_type", "recorded_at__gte", "recorded_at__lt"}
    )

    def get_ordering(self, request: HttpRequest) -> tuple[str, ...]:
        # A stream reads in version order and a flow from its start, as histories do.
        if "stream_id" in request.GET:
            return ("stream_id", "version")
        if "correlation_id" in request.GET:
            return ("transaction_id", "position")
        # A date range reads newest first through the recorded_at index. In log order PostgreSQL
        # walks the (transaction_id, position) index back from the newest event, expecting the
        # day's events to be spread over the log: for an old day that read 980,000 rows (150 ms).
        if "recorded_at__gte" in request.GET or "recorded_at__lt" in request.GET:
            return ("-recorded_at", "-position")
        return self.ordering

    def get_search_results(self, request: HttpRequest, queryset: QuerySet, search_term: str) -> tuple[QuerySet, bool]:
        found, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        term = search_term.strip()
        if not term:
            return found, may_have_duplicates
        # A bare order id: the streams of its story, through the (stream_id, version) index.
        found = found | queryset.filter(stream_id__in=[f"{c}-{term}" for c in components.order_streams()])
        # The event id is matched here, not in search_fields: Django would compare it as text
        # (CAST(event_id AS varchar)), which no index serves.
        try:
            event_id = uuid.UUID(term)
        except ValueError:
            return found, may_have_duplicates
        return found | queryset.filter(event_id=event_id), may_have_duplicates

    @admin.display(description="stream")
    def stream(self, event: Event) -> SafeString:
        return event_list_link(event.stream_id, stream_id=event.stream_id)

    @admin.display(description="correlation id")
    def flow(self, event: Event) -> SafeString:
        return event_list_link(event.correlation_id, correlation_id=event.correlation_id)

    @admin.display(description="flow")
    def short_flow(self, event: Event) -> SafeString:
        """The correlation id cut to 8 characters in the list, where a whole UUID crowds the columns."""
        full = event.correlation_id
        short = full if len(full) <= 9 else f"{full[:8]}…"
        return event_list_link(short, full_text=full, correlation_id=full)

    @admin.display(description="caused by")
    def cause(self, event: Event) -> SafeString | str:
        return "-" if event.causation_id is None else event_list_link(event.causation_id, event_id=event.causation_id)

    @admin.display(description="schema version")
    def schema(self, event: Event) -> str:
        stored = event.metadata.get(upcasting.VERSION_KEY)
        written = (
            f"{stored} as stored" if stored is not None else "1 as stored (none recorded: written before versions were)"
        )
        read = _as_read(event)
        current = read.metadata.get(upcasting.VERSION_KEY, 1)
        steps = upcasting.steps_for(event.event_type, stored or 1)
        if not steps:
            return f"{written}; read as it is"
        return f"{written}; read as {current}, through " + ", then ".join(step.name for step in steps)

    @admin.display(description="data as stored")
    def pretty_data(self, event: Event) -> SafeString:
        return pretty_json(event.data)

    @admin.display(description="metadata as stored")
    def pretty_metadata(self, event: Event) -> SafeString:
        return pretty_json(event.metadata)

    @admin.display(description="data as the code reads it")
    def data_as_read(self, event: Event) -> SafeString:
        return pretty_json(_as_read(event).data)


def _as_read(event: Event) -> RecordedEvent:
    """The event as the code reads it, worked out once per row shown."""
    if not hasattr(event, "_as_read"):
        event._as_read = mapping.as_read(event)
    return event._as_read


@admin.register(Snapshot)
class SnapshotAdmin(ReadOnlyAdmin):
    list_display = ("stream_id", "aggregate_type", "version", "recorded_at")
    ordering = ("stream_id",)
    sortable_by = ("stream_id",)
    search_fields = ("stream_id__exact",)
    search_help_text = "An exact stream id (order-42)."
    fields = ("stream_id", "events", "aggregate_type", "schema_version", "version", "recorded_at", "pretty_state")
    readonly_fields = fields

    @admin.display(description="events")
    def events(self, snapshot: Snapshot) -> SafeString:
        return event_list_link("events of this stream", stream_id=snapshot.stream_id)

    @admin.display(description="state")
    def pretty_state(self, snapshot: Snapshot) -> SafeString:
        return pretty_json(snapshot.state)
