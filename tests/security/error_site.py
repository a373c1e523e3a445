"""Settings and URLconf for tests/security/test_error_pages.py: the site as it is, plus three views
that fail as a bug would, one of them on the API's paths (a DRF view: an error the store raises
there is answered 503 by the API's own handler, so it raises another kind).

gunicorn serves `shopsite.wsgi:application` with DJANGO_SETTINGS_MODULE=tests.security.error_site.
Everything is the site's own, `handler500` included, but for ROOT_URLCONF, which is this module.
"""

from functools import cache

from shopsite.settings import *  # noqa: F403

ROOT_URLCONF = "tests.security.error_site"
MISSING_TABLE = "s12_no_such_table"


def failing_query(request):
    """A bug that reaches the database: the error names the SQL."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"SELECT secret FROM {MISSING_TABLE} WHERE key = %s", [SECRET_KEY])  # noqa: F405


def failing_with_a_secret(request):
    """A bug whose error message carries a secret."""
    raise RuntimeError(f"could not sign with {SECRET_KEY}")  # noqa: F405


@cache
def _urlpatterns() -> list:
    from django.urls import path
    from rest_framework.decorators import api_view, permission_classes
    from rest_framework.permissions import AllowAny

    from shopsite.urls import urlpatterns as site

    @api_view(["GET"])
    @permission_classes([AllowAny])
    def failing_api_view(request):
        return failing_with_a_secret(request)

    return [
        path("s12/query/", failing_query),
        path("s12/secret/", failing_with_a_secret),
        path("api/v1/s12/secret", failing_api_view),
        *site,
    ]


def __getattr__(name: str):
    # The settings are imported before the apps are ready, so the site's URLconf (which imports
    # models) can only be imported later: Django reads these at the first request.
    if name == "urlpatterns":
        return _urlpatterns()
    if name == "handler500":
        from shopsite.urls import handler500

        return handler500
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
