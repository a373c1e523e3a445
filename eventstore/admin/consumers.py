"""The consumer groups' parked messages in the admin: listed with their reason, read whole (the
message as the group got it, and who sent it), replayed or skipped one by one or in bulk."""

from __future__ import annotations

import uuid

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import URLPattern, path, reverse
from django.utils.safestring import SafeString

from eventstore import consumers
from eventstore.admin.toolkit import FilterLookupsOnly, NeverWrites, event_list_link, pretty_json
from eventstore.consumers.transport import redeliver_parked
from eventstore.models import ParkedMessage
from eventstore.store import EventStore, RecordedEvent


@admin.register(ParkedMessage)
class ParkedMessageAdmin(FilterLookupsOnly, NeverWrites, admin.ModelAdmin):
    """The messages consumer groups gave up on, with the reason; replay or skip them, never edit."""

    change_form_template = "admin/eventstore/parkedmessage/change_form.html"
    list_display = ("group", "event_type", "stream_id", "event", "how_parked", "reason", "parked_at")
    list_filter = ("group", "event_type")
    search_fields = ("stream_id__exact", "event_id__exact")
    search_help_text = "An exact stream id or event id."
    fields = ("group", "event", "event_type", "stream_id", "partner", "how_parked", "reason", "parked_at", "message")
    readonly_fields = fields
    actions = ("replay", "skip")

    @admin.display(description="event")
    def event(self, parked: ParkedMessage) -> SafeString:
        return event_list_link(str(parked.event_id), q=str(parked.event_id))

    @admin.display(description="parked")
    def how_parked(self, parked: ParkedMessage) -> str:
        """`failures` counts the transient failures before it was parked: none means refused at once."""
        if parked.failures == 0:
            return "at once: its content cannot be handled"
        return f"after {parked.failures} failed attempts"

    @admin.display(description="partner")
    def partner(self, parked: ParkedMessage) -> str:
        """Who sent the message that started the flow: the input message's partner."""
        message = self._message(parked)
        if message is None:
            return "-"
        if "partner" not in message.metadata and (input_id := _event_id(message.correlation_id)) is not None:
            message = EventStore().get(input_id) or message
        return message.metadata.get("partner") or "-"

    @admin.display(description="message")
    def message(self, parked: ParkedMessage) -> SafeString | str:
        """The message as the group got it: its data and metadata."""
        event = self._message(parked)
        if event is None:
            return "The event is no longer in the log."
        return pretty_json({"data": event.data, "metadata": event.metadata})

    def _message(self, parked: ParkedMessage) -> RecordedEvent | None:
        cache = self.__dict__.setdefault("_messages", {})  # one read per page
        if parked.event_id not in cache:
            cache[parked.event_id] = EventStore().get(parked.event_id)
        return cache[parked.event_id]

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

    # --- one message: its own buttons on its page ---------------------------------------------

    def get_urls(self) -> list[URLPattern]:
        one = self.admin_site.admin_view(self.handle_one)
        return [path("<path:object_id>/handle/", one, name="eventstore_parkedmessage_handle"), *super().get_urls()]

    def handle_one(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """POST `action` = replay or skip, for this message only; back to the list after."""
        if request.method != "POST" or not self.has_handle_permission(request):
            raise PermissionDenied
        parked = get_object_or_404(ParkedMessage, pk=unquote(object_id))
        actions = {"replay": self.replay, "skip": self.skip}
        if request.POST.get("action") not in actions:
            self.message_user(request, "Choose replay or skip.", messages.ERROR)
            return redirect(reverse("admin:eventstore_parkedmessage_change", args=[parked.pk]))
        actions[request.POST["action"]](request, ParkedMessage.objects.filter(pk=parked.pk))
        return redirect(reverse("admin:eventstore_parkedmessage_changelist"))

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "", extra_context=None):
        handle_url = reverse("admin:eventstore_parkedmessage_handle", args=[object_id])
        context = {**(extra_context or {}), "handle_url": handle_url if self.has_handle_permission(request) else ""}
        return super().change_view(request, object_id, form_url, extra_context=context)


def _event_id(flow_id: str) -> uuid.UUID | None:
    """A flow's id is its input message's event id; None for one that is not an id."""
    try:
        return uuid.UUID(flow_id)
    except ValueError:
        return None
