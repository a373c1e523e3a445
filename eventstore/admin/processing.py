"""The processing page of the admin: every consumer group and projector with its lag, and actions.

Groups and projectors are declared in code, not rows, so the page lists the registered ones with
their status (`consumers.status`, `projections.status`) instead of a model's change list. It hangs
on `ProjectorState`'s admin entry, "Consumer groups and projectors". It says as of when, and
reloads itself every `REFRESH_SECONDS` unless asked not to (`?refresh=off`). A rebuild empties a
read model that pages are reading, so it asks for a confirmation first.

A failing projector (R25) is shown with the event it stopped before and the error. "Run now" tries
it again at once, backoff or not (after a fix). Skipping the event leaves it out of the read model
for good, so it needs a permission of its own (`eventstore.skip_projector_event`), a confirmation
page that shows the failure, and a reason; `projections.skip_failed_event` records it in the log.
"""

from __future__ import annotations

import uuid

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.utils import timezone

from eventstore import consumers, projections
from eventstore.admin.toolkit import NeverWrites
from eventstore.consumers.transport import redeliver_parked
from eventstore.models import Event, ProjectorState
from eventstore.projections.skipping import MAX_REASON_LENGTH

REFRESH_SECONDS = 10


@admin.register(ProjectorState)
class ProcessingAdmin(NeverWrites, admin.ModelAdmin):
    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        if request.method == "POST":
            if request.POST.get("action") == "skip":
                return self._skip(request, request.POST.get("name", ""))
            if not self.has_act_permission(request):
                raise PermissionDenied
            self._act(request, request.POST.get("action", ""), request.POST.get("name", ""))
            return redirect(request.path)
        if "rebuild" in request.GET:
            return self._confirm_rebuild(request, request.GET["rebuild"])
        if "skip" in request.GET:
            return self._confirm_skip(request, request.GET["skip"])
        refresh = request.GET.get("refresh") != "off"
        context = {
            **self.admin_site.each_context(request),
            "title": "Consumer groups and projectors",
            "opts": self.model._meta,
            "groups": [consumers.status(group) for group in consumers.registered()],
            "projectors": [projections.status(projector) for projector in projections.registered()],
            "can_act": self.has_act_permission(request),
            "can_skip": self.has_skip_permission(request),
            "as_of": timezone.now(),
            "refresh_seconds": REFRESH_SECONDS if refresh else None,
            **(extra_context or {}),
        }
        return TemplateResponse(request, "admin/eventstore/processing.html", context)

    def _projector(self, request: HttpRequest, name: str, *, allowed: bool):
        """The projector `name`, or None with a message saying why (the caller redirects)."""
        if not allowed:
            raise PermissionDenied
        try:
            return projections.projector(name)
        except LookupError as unknown:
            self.message_user(request, str(unknown), messages.ERROR)
            return None

    def _confirm_rebuild(self, request: HttpRequest, name: str) -> HttpResponse:
        """What a rebuild does, and a button to do it (a POST with `confirmed`)."""
        projector = self._projector(request, name, allowed=self.has_act_permission(request))
        if projector is None:
            return redirect(request.path)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Rebuild {projector.name}?",
            "opts": self.model._meta,
            "projector": projector,
            "tables": [model._meta.db_table for model in projector.models],
            "events": Event.objects.filter(event_type__in=projector.event_types).count(),
        }
        return TemplateResponse(request, "admin/eventstore/rebuild_confirm.html", context)

    def _confirm_skip(self, request: HttpRequest, name: str) -> HttpResponse:
        """The failure, what a skip does, and a form that takes the reason (a POST of `skip`)."""
        projector = self._projector(request, name, allowed=self.has_skip_permission(request))
        if projector is None:
            return redirect(request.path)
        shown = projections.status(projector)
        if shown.failure is None:
            self.message_user(request, f"{name} is not failing: there is no event to skip.", messages.WARNING)
            return redirect(request.path)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Skip the event {name} fails on?",
            "opts": self.model._meta,
            "projector": shown,
            "failure": shown.failure,
            "reason_limit": MAX_REASON_LENGTH,
        }
        return TemplateResponse(request, "admin/eventstore/skip_confirm.html", context)

    def _skip(self, request: HttpRequest, name: str) -> HttpResponse:
        if not self.has_skip_permission(request):
            raise PermissionDenied
        try:
            projector = projections.projector(name)
            event_id = uuid.UUID(request.POST.get("event_id", ""))
        except (LookupError, ValueError):
            self.message_user(request, "Choose the projector's failure to skip from this page.", messages.ERROR)
            return redirect(request.path)
        try:
            skipped = projections.skip_failed_event(
                projector, reason=request.POST.get("reason", ""), user=request.user.get_username(), event_id=event_id
            )
        except projections.SkipRefused as refused:
            self.message_user(request, str(refused), messages.ERROR)
            return redirect(f"{request.path}?skip={name}")
        failure = skipped.failure
        self.message_user(
            request,
            f"Skipped event {failure.event_position} ({failure.event_type}) in {name}, with your reason; "
            f"it goes on from the next event.",
            messages.SUCCESS,
        )
        return redirect(request.path)

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "", extra_context=None):
        return redirect("admin:eventstore_projectorstate_changelist")

    def has_act_permission(self, request: HttpRequest) -> bool:
        """Sweeping, running and rebuilding act on the flow of work: staff who may change projector state."""
        return request.user.has_perm("eventstore.change_projectorstate")

    def has_skip_permission(self, request: HttpRequest) -> bool:
        """Skipping an event leaves it out of a read model: staff given that permission alone."""
        return request.user.has_perm("eventstore.skip_projector_event")

    def _act(self, request: HttpRequest, action: str, name: str) -> None:
        try:
            if action == "sweep":
                self.message_user(request, f"Asked for {consumers.sweep()} drains.", messages.SUCCESS)
            elif action == "replay":
                replayed = redeliver_parked(consumers.group(name))
                self.message_user(request, f"Replayed {len(replayed)} parked messages of {name}.", messages.SUCCESS)
            elif action == "run":
                projector = projections.projector(name)
                # Staff asking, after a fix, need not wait for the backoff of a failing projector.
                retried = projections.retry_now(projector.name)
                projections.request_run(projector, force=True)
                again = " (it was failing: tried again now)" if retried else ""
                self.message_user(request, f"Asked for a run of {name}{again}.", messages.SUCCESS)
            elif action == "rebuild" and request.POST.get("confirmed") == "yes":
                self._rebuild(request, projections.projector(name))
            elif action == "rebuild":
                self.message_user(request, "A rebuild needs its confirmation: nothing was done.", messages.ERROR)
            else:
                self.message_user(request, f"Unknown action {action!r}.", messages.ERROR)
        except LookupError as unknown:
            self.message_user(request, str(unknown), messages.ERROR)

    def _rebuild(self, request: HttpRequest, projector: projections.Projector) -> None:
        try:
            queued = projections.request_rebuild(projector)
        except (projections.RebuildRunning, projections.ProjectorBusy) as refused:
            self.message_user(request, str(refused), messages.ERROR)
            return
        done = f"Rebuild of {projector.name} queued." if queued else f"Rebuilt {projector.name}."
        self.message_user(request, done, messages.SUCCESS)
