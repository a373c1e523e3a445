"""Local caches of orders: other components' facts that its decisions need."""

from django.db import models

from contracts.order_status import ORDER_STATUSES  # noqa: F401 - the read models' statuses, imported from here

from .domain import MAX_ORDER_ID_LENGTH


class DispatchedOrder(models.Model):
    """An order whose shipment has left the warehouse (from ShipmentDispatched): too late to cancel."""

    order_id = models.CharField(primary_key=True, max_length=MAX_ORDER_ID_LENGTH)
    dispatched_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.order_id} dispatched at {self.dispatched_at:%Y-%m-%d %H:%M}"


# --- read models (orders.projections) ------------------------------------------------------------

#: The values the order summary's projector writes: an order's status (contracts/order_status.py), its
#: payment's and its shipment's.
PAYMENT_STATUSES = ("captured", "declined", "refunded")
SHIPMENT_STATUSES = ("requested", "dispatched", "delivered", "cancelled")


class OrderSummary(models.Model):
    """Read model: one row per order, as the status page, the partner API and the admin show it."""

    order_id = models.CharField(primary_key=True, max_length=MAX_ORDER_ID_LENGTH)
    partner = models.CharField(max_length=150, blank=True)  # who submitted it (the gateway's caller)
    source = models.CharField(max_length=100, blank=True)
    status = models.CharField(max_length=20)  # contracts/order_status.py ORDER_STATUSES
    customer_email = models.CharField(max_length=254, blank=True)
    customer_name = models.CharField(max_length=200, blank=True)
    shipping_line1 = models.CharField(max_length=200, blank=True)  # MAX_TEXT_LENGTH, as the two below
    shipping_city = models.CharField(max_length=200, blank=True)
    shipping_postcode = models.CharField(max_length=200, blank=True)
    shipping_country = models.CharField(max_length=2, blank=True)  # ISO 3166-1 alpha-2
    currency = models.CharField(max_length=3, blank=True)
    total = models.DecimalField(max_digits=14, decimal_places=2, null=True)
    #: [{"sku", "quantity", "unit_price"}]
    lines = models.JSONField(default=list)
    payment_status = models.CharField(max_length=20, blank=True)  # captured, declined, refunded
    provider_ref = models.CharField(max_length=200, blank=True)
    shipment_status = models.CharField(max_length=20, blank=True)  # requested, dispatched, delivered, cancelled
    carrier = models.CharField(max_length=200, blank=True)
    tracking_number = models.CharField(max_length=200, blank=True)
    correlation_id = models.CharField(max_length=100, blank=True)
    placed_at = models.DateTimeField(null=True)
    paid_at = models.DateTimeField(null=True)
    dispatched_at = models.DateTimeField(null=True)
    updated_at = models.DateTimeField()

    class Meta:
        verbose_name_plural = "order summaries"
        # Staff with it may cancel an order from its admin page (a cancel sent through the gateway).
        # and with the second, forget a customer (orders.service.forget_customer).
        permissions = [("cancel_order", "Can cancel orders"), ("forget_customer", "Can forget customers")]
        indexes = [
            models.Index(fields=["partner", "placed_at"], name="orders_summary_partner"),
            models.Index(fields=["status", "placed_at"], name="orders_summary_status"),
            models.Index(fields=["placed_at"], name="orders_summary_placed_at"),
            models.Index(fields=["customer_email"], name="orders_summary_customer"),
        ]

    def __str__(self) -> str:
        return f"{self.order_id} ({self.status})"


class SalesByDay(models.Model):
    """Read model: orders placed per day and currency, with their totals (gross of cancellations)."""

    day = models.DateField()
    currency = models.CharField(max_length=3)
    orders = models.PositiveIntegerField(default=0)
    revenue = models.DecimalField(max_digits=16, decimal_places=2, default=0)

    class Meta:
        verbose_name_plural = "sales by day"
        constraints = [models.UniqueConstraint(fields=["day", "currency"], name="orders_sales_one_row_per_day")]

    def __str__(self) -> str:
        return f"{self.day} {self.currency}: {self.orders} orders, {self.revenue}"


class OrdersPlacedByStatus(models.Model):
    """Read model (kept by the order summary's projector, orders.report_days): orders placed on a
    UTC day, by the status they have now. The reports' orders by status read it, not the summaries."""

    day = models.DateField()
    status = models.CharField(max_length=20)  # contracts/order_status.py ORDER_STATUSES
    orders = models.IntegerField(default=0)

    class Meta:
        verbose_name_plural = "orders placed by status"
        constraints = [models.UniqueConstraint(fields=["day", "status"], name="orders_placed_by_status_one_row")]

    def __str__(self) -> str:
        return f"{self.day} {self.status}: {self.orders} orders"


class LeadTimesByDay(models.Model):
    """Read model (kept by the order summary's projector, orders.report_days): orders placed on a
    UTC day and dispatched, per bucket of their placed-to-dispatched lead, and the sum of their leads."""

    day = models.DateField()
    bucket = models.PositiveSmallIntegerField()  # orders.report_days.lead_bucket
    orders = models.IntegerField(default=0)
    total = models.BigIntegerField(default=0)  # microseconds

    class Meta:
        verbose_name_plural = "lead times by day"
        constraints = [models.UniqueConstraint(fields=["day", "bucket"], name="orders_lead_times_one_row")]

    def __str__(self) -> str:
        return f"{self.day} bucket {self.bucket}: {self.orders} orders"


class ProductSales(models.Model):
    """Read model: units and revenue ordered per product and currency (gross of cancellations)."""

    sku = models.CharField(max_length=100)
    currency = models.CharField(max_length=3)
    quantity = models.PositiveIntegerField(default=0)
    orders = models.PositiveIntegerField(default=0)
    revenue = models.DecimalField(max_digits=16, decimal_places=2, default=0)

    class Meta:
        verbose_name_plural = "product sales"
        constraints = [models.UniqueConstraint(fields=["sku", "currency"], name="orders_product_sales_one_row")]

    def __str__(self) -> str:
        return f"{self.sku} {self.currency}: {self.quantity}"


class CustomerOrders(models.Model):
    """Read model: each customer (by email) with how many orders they placed, first and last."""

    email = models.CharField(primary_key=True, max_length=254)
    name = models.CharField(max_length=200, blank=True)
    orders = models.PositiveIntegerField(default=0)
    cancelled = models.PositiveIntegerField(default=0)
    first_order_at = models.DateTimeField(null=True)
    last_order_at = models.DateTimeField(null=True)
    last_order_id = models.CharField(max_length=MAX_ORDER_ID_LENGTH, blank=True)

    class Meta:
        verbose_name_plural = "customer orders"

    def __str__(self) -> str:
        return f"{self.email}: {self.orders} orders"
