"""Bench-only settings and URLconf for bench/ingest.py: the shop site plus a baseline view.

gunicorn serves `shopsite.wsgi:application` with DJANGO_SETTINGS_MODULE=_ingest_site (bench/ on
PYTHONPATH). Everything is the site's own settings, but for ROOT_URLCONF, which is this module:
every URL of `shopsite.urls`, and `POST /bench/baseline`.

The baseline is the least a Django view can do to ingest a message, on the same middleware,
worker and database connection as the gateway: one INSERT of the raw body into a table with a JSON
column (`bench_ingest_baseline`, created by the bench), in autocommit, answering 202 with an id. No
authentication, rate limit, parsing in Python or event store: the gap between the two is what they
cost.
"""

import uuid
from functools import cache

from shopsite.settings import *  # noqa: F403

ROOT_URLCONF = "_ingest_site"
BASELINE_PATH = "bench/baseline"
BASELINE_TABLE = "bench_ingest_baseline"
BASELINE_DDL = f"CREATE TABLE {BASELINE_TABLE} (id bigserial PRIMARY KEY, body jsonb NOT NULL)"


def baseline(request):
    from django.db import connection
    from django.http import JsonResponse

    message_id = uuid.uuid4()
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {BASELINE_TABLE} (body) VALUES (%s::jsonb)", [request.body.decode()])
    return JsonResponse({"message_id": str(message_id)}, status=202)


@cache
def _urlpatterns() -> list:
    from django.urls import path
    from django.views.decorators.csrf import csrf_exempt

    from shopsite.urls import urlpatterns as site

    # csrf_exempt as DRF's APIView is: partners post without a session.
    return [*site, path(BASELINE_PATH, csrf_exempt(baseline))]


def __getattr__(name: str) -> list:
    # The settings are imported before the apps are ready, so the site's URLconf (which imports
    # models) can only be imported later: Django reads `urlpatterns` at the first request.
    if name == "urlpatterns":
        return _urlpatterns()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
