from django.apps import AppConfig


class ReadSideConfig(AppConfig):
    """The read side's pages and APIs (docs/design.md 1, step 3): the storefront and its status page,
    the staff reports, the partner read API, and the catalog the storefront shows."""

    name = "readside"
    verbose_name = "Storefront and reports"
    default_auto_field = "django.db.models.BigAutoField"
