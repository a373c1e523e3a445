"""The consumer groups' parked messages in the admin: listed with their reason, replayed or skipped."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.safestring import SafeString

from eventstore import consumers
from eventstore.admin.toolkit import FilterLookupsOnly, NeverWrites, event_list_link
from eventstore.consumers.transport import redeliver_parked
from eventstore.models import ParkedMessage


@admin.register(ParkedMessage)
class ParkedMessageAdmin(FilterLookupsOnly, NeverWrites, admin.ModelAdmin):
    """The messages consumer groups gave up on, with the reason; replay or skip them, never edit."""

    list_display = ("group", "event_type", "stream_id", "event", "failures", "short_reason", "parked_at")
    list_filter = ("group", "event_type")
    search_fields = ("stream_id__exact", "event_id__exact")
    search_help_text = "An exact stream id or event id."
    fields = ("group", "event", "event_type", "stream_id", "position", "failures", "reason", "parked_at")
    readonly_fields = fields
    actions = ("replay", "skip")

    @admin.display(description="event")
    def event(self, parked: ParkedMessage) -> SafeString:
        return event_list_link(str(parked.event_id), q=str(parked.event_id))

    @admin.display(description="reason")
    def short_reason(self, parked: ParkedMessage) -> str:
        return parked.reason if len(parked.reason) <= 120 else parked.reason[:119] + "…"

    @admin.action(description="Replay the selected messages (deliver them again)", permissions=["handle"])
    def replay(self, request: HttpRequest, queryset: QuerySet) -> None:
        replayed = 0
        for name in queryset.values_list("group", flat=True).distinct():
            ids = queryset.filter(group=name).values_list("event_id", flat=True)
            replayed += len(redeliver_parked(consumers.group(name), ids))
        self.message_user(request, f"Replayed {replayed} messages.", messages.SUCCESS)

    @admin.action(description="Skip the selected messages (acknowledge them unhandled)", permissions=["handle"])
    def skip(self, request: HttpRequest, queryset: QuerySet) -> None:
        parked = list(queryset.values_list("group", "event_id"))
        for name, event_id in parked:
            consumers.skip_parked(consumers.group(name), event_id)
        self.message_user(request, f"Skipped {len(parked)} messages.", messages.SUCCESS)

    def has_handle_permission(self, request: HttpRequest) -> bool:
        """Replaying and skipping act on the flow of work: staff who may change parked messages."""
        return request.user.has_perm("eventstore.change_parkedmessage")
