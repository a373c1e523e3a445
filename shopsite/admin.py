from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib import admin, messages
from django.contrib.auth.models import Group, User
from rest_framework_api_key.admin import APIKeyModelAdmin
from rest_framework_api_key.models import APIKey

from eventstore.admin import FilterLookupsOnly
from shopsite.models import Partner, PartnerAPIKey, Product

# The library's own key model is unused: partners' keys are PartnerAPIKey.
admin.site.unregister(APIKey)

# Django's and django-axes' own admins take any lookup on any column from the query string too
# (`/admin/auth/user/?email__regex=(` is a server error): the same restriction as ours.
for _model in (User, Group, AccessAttempt, AccessLog, AccessFailureLog):
    _their_admin = type(admin.site._registry[_model])
    admin.site.unregister(_model)
    admin.site.register(_model, type(_their_admin.__name__, (FilterLookupsOnly, _their_admin), {}))


@admin.register(Product)
class ProductAdmin(FilterLookupsOnly, admin.ModelAdmin):
    list_display = ["sku", "name", "unit_price", "currency", "active"]
    list_filter = ["active", "currency"]
    search_fields = ["sku", "name"]


class PartnerAPIKeyInline(admin.TabularInline):
    model = PartnerAPIKey
    fields = ["prefix", "name", "created", "expiry_date", "revoked"]
    readonly_fields = ["prefix", "name", "created", "expiry_date", "revoked"]
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None) -> bool:
        return False  # keys are made on the key page, which shows the new key once


@admin.register(Partner)
class PartnerAdmin(FilterLookupsOnly, admin.ModelAdmin):
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
