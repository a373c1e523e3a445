"""The gateway's own records, and what became of each message it stored.

Partners and their keys say who may post to the gateway; idempotency records remember the first
answer to a repeated post; `MessageOutcome` is the read model its sender reads. The tables keep the
names they had when all of this lived in `shopsite` (docs/decisions.md).
"""

from django.db import models
from rest_framework_api_key.models import AbstractAPIKey, BaseAPIKeyManager


class Partner(models.Model):
    """A system allowed to post raw messages to the gateway, with the sources it may speak for."""

    name = models.CharField(max_length=100, unique=True)
    allowed_sources = models.JSONField(
        default=list, blank=True, help_text='The `source` values this partner may post, e.g. ["marketplace"].'
    )
    rate_limit_per_minute = models.PositiveIntegerField(
        null=True, blank=True, help_text="Posts a minute to the gateway; empty means the site's default (600)."
    )
    active = models.BooleanField(default=True, help_text="An inactive partner's keys are refused.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "shopsite_partner"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def may_post_source(self, source: str) -> bool:
        return source in self.allowed_sources

    @classmethod
    def of_the_shop(cls, name: str, sources: list[str]) -> "Partner":
        """A partner the shop itself posts as (the storefront, staff, the demo), made on first use
        and allowed `sources` whatever was set on it since (a partner edited in the admin, or by
        `create_partner`, must not make every post of the shop's own refused)."""
        partner, _ = cls.objects.get_or_create(name=name, defaults={"allowed_sources": list(sources)})
        if not set(sources) <= set(partner.allowed_sources):
            partner.allowed_sources = sorted(set(partner.allowed_sources) | set(sources))
            partner.save(update_fields=["allowed_sources"])
        return partner


class PartnerAPIKeyManager(BaseAPIKeyManager):
    def get_usable_keys(self) -> models.QuerySet:
        # One query authenticates: the key, its partner, and both still allowed.
        return self.filter(revoked=False, partner__active=True).select_related("partner")


class PartnerAPIKey(AbstractAPIKey):
    """A partner's key, stored hashed (SHA-512 of a random 32-character secret); shown once."""

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="api_keys")

    objects = PartnerAPIKeyManager()

    class Meta(AbstractAPIKey.Meta):
        db_table = "shopsite_partnerapikey"
        verbose_name = "partner API key"
        verbose_name_plural = "partner API keys"


class IdempotencyRecord(models.Model):
    """The first answer to a partner's `Idempotency-Key`, kept for at least IDEMPOTENCY_KEY_TTL."""

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    body_digest = models.CharField(max_length=64, help_text="SHA-256 of the body as canonical JSON.")
    message_id = models.UUIDField()
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        db_table = "shopsite_idempotencyrecord"
        constraints = [models.UniqueConstraint(fields=["partner", "key"], name="idempotency_key_once_per_partner")]

    def __str__(self) -> str:
        return f"{self.partner_id}:{self.key}"


# --- read models (gateway.projections) ---------------------------------------------------------

#: A message's status: some component that takes it has not settled it; every one handled it; one
#: refused it as a business decision; one parked it; no component takes it.
MESSAGE_STATUSES = ("pending", "processed", "rejected", "parked", "unroutable")
#: A component's status for a message.
COMPONENT_STATUSES = ("pending", "processed", "rejected", "parked")


class MessageOutcome(models.Model):
    """Read model: what became of each raw message the gateway stored (its sender reads it)."""

    message_id = models.UUIDField(primary_key=True)
    partner = models.CharField(max_length=150, blank=True)  # the gateway's caller, by name
    applies = models.CharField(max_length=100, blank=True)
    source = models.CharField(max_length=100, blank=True)
    received_at = models.DateTimeField()
    status = models.CharField(max_length=20)  # MESSAGE_STATUSES
    #: [{"name": the component, "status": COMPONENT_STATUSES, "at": ISO time or null, "reason": text or null}]
    components = models.JSONField(default=list)
    order_id = models.CharField(max_length=100, blank=True)  # what the message is about, once a component says
    updated_at = models.DateTimeField()

    class Meta:
        db_table = "shopsite_messageoutcome"
        indexes = [
            models.Index(fields=["status", "received_at"], name="shopsite_outcome_status"),
            models.Index(fields=["partner", "received_at"], name="shopsite_outcome_partner"),
        ]

    def __str__(self) -> str:
        return f"{self.message_id} ({self.status})"
