from django.apps import AppConfig


class GatewayConfig(AppConfig):
    """The data input (docs/design.md 1, step 1): the gateway, its partners and keys, its idempotency
    records and request limits, and the message outcomes its senders read."""

    name = "gateway"
    verbose_name = "Gateway"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from eventstore import projections

        from .projections import PROJECTORS

        for projector in PROJECTORS:
            projections.register(projector)
