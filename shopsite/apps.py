from django.apps import AppConfig


class ShopSiteConfig(AppConfig):
    """The project's settings and wiring; its models moved to `gateway` and `readside`, its
    migrations stay as their history (docs/decisions.md)."""

    name = "shopsite"
    verbose_name = "Shop"
    default_auto_field = "django.db.models.BigAutoField"
