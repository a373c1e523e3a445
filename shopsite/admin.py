from django.contrib import admin

from shopsite.models import Product


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ["sku", "name", "unit_price", "currency", "active"]
    list_filter = ["active", "currency"]
    search_fields = ["sku", "name"]
