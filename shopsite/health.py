"""`GET /healthz`: whether the database and the broker answer; 200 when both do, 503 otherwise."""

import logging

from django.conf import settings
from django.db import DatabaseError, connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from kombu.exceptions import OperationalError as BrokerError

from shopsite.celery import app as celery_app

logger = logging.getLogger(__name__)


@never_cache
@require_safe
def healthz(request):
    states = {"database": _database_state(), "broker": _broker_state()}
    healthy = all(state in ("ok", "in-process") for state in states.values())
    return JsonResponse({"status": "ok" if healthy else "unavailable", **states}, status=200 if healthy else 503)


def _database_state() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError as error:
        logger.warning("Health: database unreachable: %s", error)
        return "unreachable"
    return "ok"


def _broker_state() -> str:
    if not settings.CELERY_BROKER_URL:
        return "in-process"  # no broker: tasks run in the process that sends them
    try:
        with celery_app.connection_for_write() as broker:
            broker.ensure_connection(max_retries=1, interval_start=0, timeout=2)
    except (BrokerError, OSError) as error:
        logger.warning("Health: broker unreachable: %s", error)
        return "unreachable"
    return "ok"
