from django.apps import AppConfig


class ShippingConfig(AppConfig):
    name = "shipping"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from eventstore import consumers, projections

        from .projections import PROJECTORS
        from .reactions import GROUP

        consumers.register(GROUP)
        for projector in PROJECTORS:
            projections.register(projector)
