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


class ShipmentBoardRow(models.Model):
    """Read model: one row per shipment, where it is and when it got there."""

    order_id = models.CharField(primary_key=True, max_length=100)
    status = models.CharField(max_length=20)  # requested, dispatched, delivered, cancelled
    city = models.CharField(max_length=200, blank=True)
    country = models.CharField(max_length=2, blank=True)
    carrier = models.CharField(max_length=200, blank=True)
    tracking_number = models.CharField(max_length=200, blank=True)
    requested_at = models.DateTimeField(null=True)
    dispatched_at = models.DateTimeField(null=True)
    delivered_at = models.DateTimeField(null=True)
    cancelled_at = models.DateTimeField(null=True)
    updated_at = models.DateTimeField()

    class Meta:
        verbose_name = "shipment"
        indexes = [models.Index(fields=["status", "updated_at"], name="shipping_board_status")]

    def __str__(self) -> str:
        return f"{self.order_id} ({self.status})"
