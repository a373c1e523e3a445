"""Setting up a partner: made or changed, given a key, and optionally a webhook endpoint, in one
transaction (`manage.py create_partner` calls this; the shop's own partners, the storefront's,
staff's and the demo's, are `Partner.of_the_shop`)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction

from gateway.models import Partner, PartnerAPIKey
from gateway.service import MAX_ROUTING_FIELD_LENGTH
from webhooks.models import WebhookEndpoint
from webhooks.service import add_endpoint


class PartnerRefused(ValueError):
    """What was asked for cannot be set (`field`: which of it); nothing was written."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field


@dataclass(frozen=True)
class PartnerSetUp:
    partner: Partner
    created: bool
    key: str  # the new key's secret: shown once, only its hash is kept
    endpoint: WebhookEndpoint | None  # its secret likewise shown once


def checked_sources(sources: Iterable[str]) -> list[str]:
    """The sources, stripped of blanks; `PartnerRefused` when none is left or one is longer than the
    gateway reads."""
    checked = [source.strip() for source in sources if source.strip()]
    if not checked:
        raise PartnerRefused("sources", "At least one source is needed.")
    if too_long := [s for s in checked if len(s) > MAX_ROUTING_FIELD_LENGTH]:
        longest = MAX_ROUTING_FIELD_LENGTH
        raise PartnerRefused("sources", f"Sources are at most {longest} characters: {too_long[0][:20]}...")
    return checked


def set_up_partner(
    name: str, *, sources: list[str] | None = None, rate: int | None = None, webhook_url: str | None = None
) -> PartnerSetUp:
    """Partner `name` with a new key: made if it does not exist (it then needs `sources`), else
    changed (`sources`, `rate`: set when given); with `webhook_url`, a webhook endpoint for every
    kind. `PartnerRefused` when any of it cannot be set, and then nothing is written."""
    if rate is not None and rate < 1:
        raise PartnerRefused("rate", "A rate is 1 post a minute or more.")
    with transaction.atomic():
        partner = Partner.objects.filter(name=name).first()
        created = partner is None
        if created:
            if not sources:
                raise PartnerRefused("sources", "A new partner needs sources.")
            partner = Partner.objects.create(name=name, allowed_sources=sources, rate_limit_per_minute=rate)
        else:
            if sources:
                partner.allowed_sources = sources
            if rate is not None:
                partner.rate_limit_per_minute = rate
            partner.save()
        endpoint = None
        if webhook_url is not None:
            try:
                endpoint = add_endpoint(partner=partner, url=webhook_url)
            except ValidationError as refused:
                raise PartnerRefused("webhook_url", "; ".join(refused.messages)) from refused
        _, key = PartnerAPIKey.objects.create_key(partner=partner, name=name[:50])
    return PartnerSetUp(partner=partner, created=created, key=key, endpoint=endpoint)
