"""Partners' webhook endpoints, the outbox of their deliveries, every attempt, and the local cache
of orders the group keeps to know whose order an event is about.

None of this is a read model: deliveries and attempts are the sender's own working state (what was
sent, when, how it went), kept in rows beside the log, not as events (docs/decisions.md).
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from gateway.models import Partner

from . import addresses
from .domain import KINDS, UnknownKind, checked_kinds
from .signing import new_secret

PENDING, DELIVERED, PARKED = "pending", "delivered", "parked"
DELIVERY_STATES = [(PENDING, "pending"), (DELIVERED, "delivered"), (PARKED, "parked")]
MAX_URL_LENGTH = 2000


def validate_webhook_url(url: str) -> None:
    """S17 when an endpoint is set: https to a public address, unless WEBHOOK_ALLOW_PRIVATE."""
    if (refused := addresses.refusal(url, allow_private=settings.WEBHOOK_ALLOW_PRIVATE)) is not None:
        raise ValidationError(refused, code="webhook_url")


def validate_kinds(kinds: object) -> None:
    if not isinstance(kinds, list) or not all(isinstance(kind, str) for kind in kinds):
        raise ValidationError("Kinds are a list of kind names.", code="webhook_kinds")
    try:
        checked_kinds(kinds)
    except UnknownKind as unknown:
        raise ValidationError(str(unknown), code="webhook_kinds") from unknown


class WebhookEndpoint(models.Model):
    """Where a partner wants to hear of its orders and messages, and how sending to it goes."""

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="webhook_endpoints")
    url = models.CharField(max_length=MAX_URL_LENGTH, validators=[validate_webhook_url])
    #: Signs every body (HMAC): kept as it is, as the receiver holds the same; shown once.
    secret = models.CharField(max_length=100, default=new_secret, editable=False)
    kinds = models.JSONField(
        default=list, blank=True, validators=[validate_kinds], help_text="The kinds it wants; none: every kind."
    )
    active = models.BooleanField(default=True, help_text="An inactive endpoint is sent nothing.")
    created_at = models.DateTimeField(auto_now_add=True)
    # The sender's state: failures in a row, when it may try again, and who is sending now.
    failures = models.PositiveIntegerField(default=0, editable=False)
    next_attempt_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_error = models.TextField(blank=True, editable=False)
    leased_until = models.DateTimeField(null=True, blank=True, editable=False)
    leased_by = models.CharField(max_length=32, blank=True, editable=False)

    class Meta:
        verbose_name = "webhook endpoint"

    def __str__(self) -> str:
        return f"{self.partner.name}: {self.url}"


class WebhookDelivery(models.Model):
    """One event for one endpoint (the outbox): sent in order per subject, retried until delivered
    or parked. The body is kept as sent: its bytes are what the signature covers."""

    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    event_id = models.UUIDField(help_text="The event told of: the body's id and the Shop-Event-Id header.")
    kind = models.CharField(max_length=40, choices=[(kind, kind) for kind in KINDS])
    #: What the deliveries are kept in order for: "order:<order id>" or "message:<message id>".
    subject = models.CharField(max_length=150)
    sequence = models.PositiveIntegerField(help_text="Its place among the endpoint's deliveries of its subject.")
    order_id = models.CharField(max_length=100, blank=True)
    message_id = models.UUIDField(null=True, blank=True)
    body = models.TextField()
    state = models.CharField(max_length=10, choices=DELIVERY_STATES, default=PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    created_at = models.DateTimeField()
    retry_from = models.DateTimeField(
        help_text="When its tries began: when it was written, or last replayed. It is parked at a "
        "failure WEBHOOK_RETRY_HOURS after this."
    )
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "webhook delivery"
        verbose_name_plural = "webhook deliveries"
        constraints = [
            models.UniqueConstraint(fields=["endpoint", "event_id"], name="webhooks_delivery_event_once"),
            models.UniqueConstraint(fields=["endpoint", "subject", "sequence"], name="webhooks_delivery_sequence"),
        ]
        indexes = [
            models.Index(fields=["endpoint", "state", "next_attempt_at"], name="webhooks_delivery_due"),
            models.Index(fields=["state", "created_at"], name="webhooks_delivery_state"),
            models.Index(fields=["order_id"], name="webhooks_delivery_order"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.subject} #{self.sequence} ({self.state})"


class WebhookAttempt(models.Model):
    """One try at sending a delivery: the answer's status, how long it took, what went wrong."""

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="attempts_made")
    at = models.DateTimeField()
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField()
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["at", "id"]
        verbose_name = "webhook attempt"

    def __str__(self) -> str:
        return f"{self.delivery_id} at {self.at:%Y-%m-%d %H:%M:%S}: {self.status_code or self.error[:40]}"


class KnownOrder(models.Model):
    """The webhooks' local cache of orders, fed by OrderPlaced and every change of status: whose
    order it is and where it stands, to know whom to tell of a payment or a shipment."""

    order_id = models.CharField(primary_key=True, max_length=100)
    partner = models.CharField(max_length=150, blank=True)  # the gateway caller, by name
    status = models.CharField(max_length=20)

    def __str__(self) -> str:
        return f"{self.order_id} ({self.partner}: {self.status})"
