"""Delete idempotency records older than IDEMPOTENCY_KEY_TTL (beat runs this hourly)."""

from django.core.management.base import BaseCommand

from gateway.service import forget_idempotency_keys


class Command(BaseCommand):
    help = "Delete the gateway's idempotency records older than IDEMPOTENCY_KEY_TTL (24 hours by default)."

    def handle(self, *args, **options):
        self.stdout.write(f"Forgot {forget_idempotency_keys()} idempotency keys.")
