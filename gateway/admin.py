from django import forms
from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.html import format_html_join
from django.utils.safestring import SafeString
from rest_framework_api_key.admin import APIKeyModelAdmin
from rest_framework_api_key.models import APIKey

from eventstore.admin.processing import ProcessingAdmin
from eventstore.admin.toolkit import FilterLookupsOnly, ReadModelAdmin, event_list_link
from eventstore.models import ProjectorState
from gateway.models import MessageOutcome, Partner, PartnerAPIKey
from gateway.partners import PartnerRefused, checked_sources

# The library's own key model is unused: partners' keys are PartnerAPIKey.
admin.site.unregister(APIKey)


class PartnerAPIKeyInline(admin.TabularInline):
    model = PartnerAPIKey
    fields = ["prefix", "name", "created", "expiry_date", "revoked"]
    readonly_fields = ["prefix", "name", "created", "expiry_date", "revoked"]
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None) -> bool:
        return False  # keys are made on the key page, which shows the new key once


class SourcesField(forms.CharField):
    """A partner's sources as staff type them: names separated by commas, as `create_partner --sources`."""

    def prepare_value(self, value: object) -> object:
        return ", ".join(value) if isinstance(value, list) else value

    def to_python(self, value: object) -> list[str]:
        return str(super().to_python(value)).split(",")


class PartnerForm(forms.ModelForm):
    """A partner as staff set it: its sources checked by the rule `manage.py create_partner` follows."""

    allowed_sources = SourcesField(
        label="Allowed sources",
        required=False,  # so that an empty field gets the rule's own message
        help_text="The sources this partner may post as, separated by commas: web, marketplace, warehouse.",
        widget=forms.TextInput(attrs={"class": "vTextField", "autocomplete": "off"}),
    )

    class Meta:
        model = Partner
        fields = ["name", "allowed_sources", "rate_limit_per_minute", "active"]

    def clean_allowed_sources(self) -> list[str]:
        try:
            return checked_sources(self.cleaned_data["allowed_sources"])
        except PartnerRefused as refused:
            raise forms.ValidationError(str(refused)) from refused


@admin.register(Partner)
class PartnerAdmin(FilterLookupsOnly, admin.ModelAdmin):
    form = PartnerForm
    list_display = ["name", "allowed_sources", "rate_limit_per_minute", "active", "created_at"]
    list_filter = ["active"]
    search_fields = ["name"]
    inlines = [PartnerAPIKeyInline]


@admin.register(PartnerAPIKey)
class PartnerAPIKeyAdmin(FilterLookupsOnly, APIKeyModelAdmin):
    list_display = [*APIKeyModelAdmin.list_display, "partner"]
    list_filter = ["revoked", "partner"]
    list_select_related = ["partner"]
    search_fields = ["name", "prefix", "partner__name"]
    actions = ["revoke"]

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # revoke instead: a revoked key stays on record

    @admin.action(description="Revoke the selected keys (cannot be undone)")
    def revoke(self, request, queryset):
        revoked = queryset.filter(revoked=False).update(revoked=True)
        self.message_user(request, f"Revoked {revoked} keys.", messages.SUCCESS)


@admin.register(MessageOutcome)
class MessageOutcomeAdmin(ReadModelAdmin):
    """What became of each message: staff find the unroutable, rejected and parked ones here."""

    list_display = ("message_id", "status", "applies", "source", "partner", "order_id", "received_at")
    list_filter = ("status", "applies", "partner")
    search_fields = ("message_id__exact", "order_id__exact")
    search_help_text = "An exact message id or order id."
    ordering = ("-received_at",)
    date_hierarchy = "received_at"

    def get_readonly_fields(self, request: HttpRequest, obj=None) -> list[str]:
        return [*super().get_readonly_fields(request, obj), "by_component", "events"]

    @admin.display(description="by component")
    def by_component(self, outcome: MessageOutcome) -> SafeString:
        return format_html_join(
            "",
            "<p><strong>{}</strong>: {} {} {}</p>",
            ((c["name"], c["status"], c["at"] or "", c["reason"] or "") for c in outcome.components),
        )

    @admin.display(description="events")
    def events(self, outcome: MessageOutcome) -> SafeString:
        return event_list_link("The message and its flow in the event log", correlation_id=str(outcome.message_id))


class ProcessingWithUnroutableAdmin(ProcessingAdmin):
    """The processing page, with the messages no component takes beside the parked ones."""

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        url = reverse("admin:gateway_messageoutcome_changelist") + "?status__exact=unroutable"
        unroutable = {"unroutable": MessageOutcome.objects.filter(status="unroutable").count(), "unroutable_url": url}
        return super().changelist_view(request, {**unroutable, **(extra_context or {})})


admin.site.unregister(ProjectorState)
admin.site.register(ProjectorState, ProcessingWithUnroutableAdmin)
