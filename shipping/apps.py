from django.apps import AppConfig


class ShippingConfig(AppConfig):
    name = "shipping"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from eventstore.consumers import register

        from .reactions import GROUP

        register(GROUP)
