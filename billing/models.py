"""Read models of billing."""

from django.db import models


class PaymentLedgerEntry(models.Model):
    """Read model: one row per payment event (captured, declined, refunded), in the order recorded."""

    event_id = models.UUIDField(primary_key=True)
    order_id = models.CharField(max_length=100, db_index=True)
    kind = models.CharField(max_length=20)  # captured, declined, refunded
    amount = models.DecimalField(max_digits=14, decimal_places=2, null=True)
    currency = models.CharField(max_length=3, blank=True)
    provider_ref = models.CharField(max_length=200, blank=True)
    reason = models.TextField(blank=True)
    recorded_at = models.DateTimeField(db_index=True)

    class Meta:
        verbose_name_plural = "payments ledger"

    def __str__(self) -> str:
        return f"{self.order_id}: {self.kind} {self.amount or ''} {self.currency}".strip()


class PaymentsByDay(models.Model):
    """Read model: payment events per day and kind, so the reports count a year in a few hundred rows."""

    day = models.DateField()
    kind = models.CharField(max_length=20)  # captured, declined, refunded
    payments = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name_plural = "payments by day"
        constraints = [models.UniqueConstraint(fields=["day", "kind"], name="billing_payments_one_row_per_day")]

    def __str__(self) -> str:
        return f"{self.day} {self.kind}: {self.payments}"
