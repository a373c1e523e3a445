"""Local caches of orders: other components' facts that its decisions need."""

from django.db import models

from .domain import MAX_ORDER_ID_LENGTH


class DispatchedOrder(models.Model):
    """An order whose shipment has left the warehouse (from ShipmentDispatched): too late to cancel."""

    order_id = models.CharField(primary_key=True, max_length=MAX_ORDER_ID_LENGTH)
    dispatched_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.order_id} dispatched at {self.dispatched_at:%Y-%m-%d %H:%M}"
