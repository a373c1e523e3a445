from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "billing"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from eventstore.consumers import register

        from .reactions import GROUP

        register(GROUP)
