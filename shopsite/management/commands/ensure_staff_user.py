"""Create or update the staff superuser for a local run, and print its password."""

import os
import secrets
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = (
        "Make sure a staff superuser exists. The password comes from SHOP_ADMIN_PASSWORD, else from "
        "the file .admin-password (made with a random password on first use). Prints it."
    )

    def add_arguments(self, parser):
        parser.add_argument("--username", default=os.environ.get("SHOP_ADMIN_USER", "admin"))

    def handle(self, *args, username: str, **options):
        password = os.environ.get("SHOP_ADMIN_PASSWORD") or self._saved_password(
            Path(settings.BASE_DIR) / ".admin-password"
        )
        user, created = get_user_model().objects.get_or_create(
            username=username, defaults={"is_staff": True, "is_superuser": True}
        )
        user.is_staff = user.is_superuser = True
        user.set_password(password)
        user.save()
        self.stdout.write(f"Staff user {'created' if created else 'updated'}: {username} / {password}")

    def _saved_password(self, path: Path) -> str:
        if path.exists():
            return path.read_text().strip()
        password = secrets.token_urlsafe(12)
        path.write_text(password + "\n")
        path.chmod(0o600)
        return password
