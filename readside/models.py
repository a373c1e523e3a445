"""The catalog the storefront shows and prices orders from.

Products are not event-sourced: staff edit them in the admin.
"""

from django.db import models


class Product(models.Model):
    sku = models.CharField(max_length=64, primary_key=True)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    unit_price = models.DecimalField(max_digits=10, decimal_places=2)
    currency = models.CharField(max_length=3, default="EUR")
    active = models.BooleanField(default=True)

    class Meta:
        db_table = "shopsite_product"  # made before the read side had an app of its own
        ordering = ["sku"]

    def __str__(self) -> str:
        return f"{self.sku} {self.name}"
