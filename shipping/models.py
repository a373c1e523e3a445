from django.db import models


class PlacedOrder(models.Model):
    """Shipping's local cache of placed orders, fed by OrderPlaced: what a shipment request needs
    when the payment is captured, without reading another component's stream."""

    order_id = models.CharField(primary_key=True, max_length=100)
    #: {"line1", "city", "postcode", "country"}
    shipping_address = models.JSONField()
    #: [{"sku", "quantity"}]
    lines = models.JSONField()

    def __str__(self) -> str:
        return self.order_id
