"""`python manage.py export_customer EMAIL`: print, as JSON, all that is held about a customer."""

import json

from django.core.management.base import BaseCommand, CommandError

from eventstore.personal_data import UnknownCustomer
from orders.service import export_customer


class Command(BaseCommand):
    help = "Print, as JSON, all the data held about a customer (the right of access)."

    def add_arguments(self, parser):
        parser.add_argument("email")

    def handle(self, *args, email: str, **options):
        try:
            exported = export_customer(email)
        except UnknownCustomer as unknown:
            raise CommandError(str(unknown)) from unknown
        self.stdout.write(json.dumps(exported, indent=2, ensure_ascii=False))
