from django.apps import AppConfig


class ShopSiteConfig(AppConfig):
    name = "shopsite"
    verbose_name = "Shop"
    default_auto_field = "django.db.models.BigAutoField"
