from django.apps import AppConfig


class ShopSiteConfig(AppConfig):
    name = "shopsite"
    verbose_name = "Shop"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from eventstore import projections

        from .outcomes import PROJECTORS

        for projector in PROJECTORS:
            projections.register(projector)
