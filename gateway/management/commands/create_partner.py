"""Create a partner (or give an existing one a new key), optionally with a webhook endpoint, and
print the key on the last line."""

from django.core.management.base import BaseCommand, CommandError

from gateway.partners import PartnerRefused, checked_sources, set_up_partner


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
        try:
            allowed = checked_sources(sources.split(",")) if sources is not None else None
            done = set_up_partner(name, sources=allowed, rate=rate, webhook_url=webhook_url)
        except PartnerRefused as refused:
            raise CommandError(f"--{refused.field.replace('_', '-')}: {refused}") from refused
        shown = ", ".join(done.partner.allowed_sources)
        if done.created:
            self.stdout.write(f"Created partner {name} (sources: {shown}).")
        else:
            self.stdout.write(f"Partner {name} exists (sources: {shown}); new key.")
        if done.endpoint is not None:
            self.stdout.write(f"Webhook endpoint {done.endpoint.url} (every kind).")
            self.stdout.write(f"Webhook signing secret (shown once, keep it): {done.endpoint.secret}")
        self.stdout.write(done.key)
