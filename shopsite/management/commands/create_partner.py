"""Create a partner (or give an existing one a new key), optionally with a webhook endpoint, and
print the key on the last line."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from shopsite.gateway import MAX_ROUTING_FIELD_LENGTH
from shopsite.models import Partner, PartnerAPIKey
from webhooks.service import add_endpoint


class Command(BaseCommand):
    help = (
        "Create partner NAME allowed to post the given sources, or add a key to an existing one. "
        "The key is printed once, on the last line; only its hash is kept. With --webhook-url, the "
        "partner gets a webhook endpoint for every kind, whose signing secret is printed once, before the key."
    )

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument("--sources", help="Comma-separated sources it may post, e.g. web,marketplace.")
        parser.add_argument("--rate", type=int, help="Posts a minute (default: GATEWAY_RATE_PER_MINUTE).")
        parser.add_argument("--webhook-url", help="An https URL of a public address to send the partner's webhooks to.")

    def handle(self, *args, name: str, sources: str | None, rate: int | None, webhook_url: str | None, **options):
        allowed = _sources(sources) if sources is not None else None
        if rate is not None and rate < 1:
            raise CommandError("--rate must be 1 or more.")
        with transaction.atomic():
            partner = Partner.objects.filter(name=name).first()
            if partner is None:
                if not allowed:
                    raise CommandError("A new partner needs --sources.")
                partner = Partner.objects.create(name=name, allowed_sources=allowed, rate_limit_per_minute=rate)
                self.stdout.write(f"Created partner {name} (sources: {', '.join(allowed)}).")
            else:
                if allowed:
                    partner.allowed_sources = allowed
                if rate is not None:
                    partner.rate_limit_per_minute = rate
                partner.save()
                self.stdout.write(f"Partner {name} exists (sources: {', '.join(partner.allowed_sources)}); new key.")
            if webhook_url is not None:
                try:
                    endpoint = add_endpoint(partner=partner, url=webhook_url)
                except ValidationError as refused:
                    raise CommandError(f"--webhook-url: {'; '.join(refused.messages)}") from refused
            _, key = PartnerAPIKey.objects.create_key(partner=partner, name=name[:50])
        if webhook_url is not None:
            self.stdout.write(f"Webhook endpoint {endpoint.url} (every kind).")
            self.stdout.write(f"Webhook signing secret (shown once, keep it): {endpoint.secret}")
        self.stdout.write(key)


def _sources(value: str) -> list[str]:
    sources = [source.strip() for source in value.split(",") if source.strip()]
    if not sources:
        raise CommandError("--sources needs at least one source.")
    if too_long := [s for s in sources if len(s) > MAX_ROUTING_FIELD_LENGTH]:
        raise CommandError(f"Sources are at most {MAX_ROUTING_FIELD_LENGTH} characters: {too_long[0][:20]}...")
    return sources
