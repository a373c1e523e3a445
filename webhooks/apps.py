from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "webhooks"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from eventstore import consumers

        from .reactions import GROUP

        consumers.register(GROUP)
