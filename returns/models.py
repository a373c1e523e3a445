from django.db import models


class ReturnRow(models.Model):
    """Read model: one row per order's return, written by its projector only."""

    order_id = models.CharField(primary_key=True, max_length=100)
    status = models.CharField(max_length=20)  # requested, rejected or received
    reason = models.CharField(max_length=200, blank=True)  # the customer's, or why it was refused
    requested_at = models.DateTimeField(null=True)
    received_at = models.DateTimeField(null=True)
    updated_at = models.DateTimeField()

    def __str__(self) -> str:
        return self.order_id
