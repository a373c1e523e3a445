"""Webhooks in the admin: partners' endpoints (set here; the secret shown once, when one is added)
and the deliveries with every attempt, read only, with *Replay*."""

from __future__ import annotations

import json

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.safestring import SafeString

from eventstore.admin.toolkit import FilterLookupsOnly, NeverWrites, pretty_json

from . import service
from .domain import KINDS
from .models import WebhookAttempt, WebhookDelivery, WebhookEndpoint


class WebhookEndpointForm(forms.ModelForm):
    kinds = forms.MultipleChoiceField(
        choices=[(kind, kind) for kind in KINDS],
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text="The kinds it wants; none ticked: every kind.",
    )

    class Meta:
        model = WebhookEndpoint
        fields = ("partner", "url", "kinds", "active")


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(FilterLookupsOnly, admin.ModelAdmin):
    """Endpoints are added and edited here; their sending state is shown, never edited."""

    form = WebhookEndpointForm
    list_display = ("partner", "url", "shown_kinds", "active", "failures", "next_attempt_at", "created_at")
    list_filter = ("active", "partner")
    list_select_related = ("partner",)
    ordering = ("partner__name", "id")
    search_fields = ("partner__name__exact",)
    search_help_text = "A partner's exact name."
    sending_state = ("created_at", "failures", "next_attempt_at", "last_error")

    def get_fields(self, request: HttpRequest, obj: WebhookEndpoint | None = None) -> tuple[str, ...]:
        editable = ("partner", "url", "kinds", "active")
        return editable if obj is None else (*editable, *self.sending_state)

    def get_readonly_fields(self, request: HttpRequest, obj: WebhookEndpoint | None = None) -> tuple[str, ...]:
        # The partner is chosen once; the secret is never shown after it was added.
        return () if obj is None else ("partner", *self.sending_state)

    @admin.display(description="kinds")
    def shown_kinds(self, endpoint: WebhookEndpoint) -> str:
        return ", ".join(endpoint.kinds) or "all"

    def save_model(self, request: HttpRequest, obj: WebhookEndpoint, form: forms.ModelForm, change: bool) -> None:
        if change:
            # Only what staff edit: the sender's state in the row is the sender's.
            obj.save(update_fields=["url", "kinds", "active"])
            return
        obj.save()
        self.message_user(
            request,
            "Give the partner this signing secret: it checks each body's Shop-Signature with it "
            "(docs/webhooks.md). It is shown this once, and never again.",
            messages.WARNING,
        )
        self.message_user(request, f"Signing secret of {obj.url}: {obj.secret}", messages.WARNING)

    def has_delete_permission(self, request: HttpRequest, obj: WebhookEndpoint | None = None) -> bool:
        return False  # make it inactive instead: its deliveries and their attempts stay on record


class WebhookAttemptInline(NeverWrites, admin.TabularInline):
    model = WebhookAttempt
    fields = ("at", "status_code", "duration_ms", "error")
    readonly_fields = fields
    extra = 0


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(FilterLookupsOnly, NeverWrites, admin.ModelAdmin):
    """The outbox, read only: each delivery with its attempts; *Replay* sends some again."""

    list_display = (
        "id",
        "partner",
        "kind",
        "order_id",
        "sequence",
        "state",
        "attempts",
        "next_attempt_at",
        "created_at",
        "delivered_at",
    )
    list_filter = ("state", "kind", "endpoint__partner")
    list_select_related = ("endpoint__partner",)
    search_fields = ("order_id__exact", "event_id__exact", "message_id__exact")
    search_help_text = "An exact order id, event id or message id."
    ordering = ("-id",)
    show_facets = admin.ShowFacets.NEVER
    fields = (
        "endpoint",
        "kind",
        "subject",
        "sequence",
        "order_id",
        "message_id",
        "event_id",
        "state",
        "attempts",
        "next_attempt_at",
        "created_at",
        "retry_from",
        "delivered_at",
        "shown_body",
    )
    readonly_fields = fields
    inlines = (WebhookAttemptInline,)
    actions = ("replay",)

    @admin.display(description="partner")
    def partner(self, delivery: WebhookDelivery) -> str:
        return delivery.endpoint.partner.name

    @admin.display(description="body")
    def shown_body(self, delivery: WebhookDelivery) -> SafeString:
        return pretty_json(json.loads(delivery.body))

    @admin.action(description="Replay the selected deliveries (send them again)", permissions=["replay"])
    def replay(self, request: HttpRequest, queryset: QuerySet) -> None:
        replayed = service.replay_deliveries(queryset.values_list("pk", flat=True))
        self.message_user(request, f"Replaying {replayed} deliveries.", messages.SUCCESS)

    def has_replay_permission(self, request: HttpRequest) -> bool:
        """Replaying acts on what partners are sent: staff who may change deliveries."""
        return request.user.has_perm("webhooks.change_webhookdelivery")
