"""`python manage.py forget_customer EMAIL`: forget a customer (orders.service.forget_customer)."""

from django.core.management.base import BaseCommand, CommandError

from eventstore.personal_data import UnknownCustomer
from orders.service import forget_customer


class Command(BaseCommand):
    help = "Forget a customer: destroy their key, record CustomerForgotten; the read models are anonymised."

    def add_arguments(self, parser):
        parser.add_argument("email")

    def handle(self, *args, email: str, **options):
        try:
            forgotten = forget_customer(email, metadata={"requested_by": "manage.py forget_customer"})
        except UnknownCustomer as unknown:
            raise CommandError(str(unknown)) from unknown
        customer = forgotten.customer
        if not forgotten.recorded:
            self.stdout.write(f"Customer {customer.id} was forgotten already; nothing to do.")
            return
        self.stdout.write(
            f"Forgot customer {customer.id}: {forgotten.keys_destroyed} key(s) destroyed, "
            f"{len(customer.order_ids)} order(s) anonymised."
        )
