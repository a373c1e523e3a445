from django.contrib import admin

from eventstore.admin.toolkit import FilterLookupsOnly
from readside.models import Product


@admin.register(Product)
class ProductAdmin(FilterLookupsOnly, admin.ModelAdmin):
    list_display = ["sku", "name", "unit_price", "currency", "active"]
    list_filter = ["active", "currency"]
    search_fields = ["sku", "name"]
