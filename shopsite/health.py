"""`GET /healthz`: whether the database and the broker answer; 200 when both do, 503 otherwise.

A projector whose code fails on an event (R25) leaves the shop up but one read model behind: the
answer stays 200, its status reads "degraded", and `projectors` names each failing one, the event
it stopped before and the error's type. The error's message is not shown (anyone may ask /healthz,
and a message may quote a customer's data): staff read it in the admin or `projections status`.
When nothing fails the body is as it always was.
"""

import logging

from django.conf import settings
from django.db import DatabaseError, connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from kombu.exceptions import OperationalError as BrokerError

from eventstore import projections
from shopsite.celery import app as celery_app

logger = logging.getLogger(__name__)


@never_cache
@require_safe
def healthz(request):
    states = {"database": _database_state(), "broker": _broker_state()}
    if not all(state in ("ok", "in-process") for state in states.values()):
        return JsonResponse({"status": "unavailable", **states}, status=503)
    failing = _failing_projectors() if states["database"] == "ok" else []
    if failing:
        return JsonResponse({"status": "degraded", **states, "projectors": {"failing": failing}})
    return JsonResponse({"status": "ok", **states})


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


def _failing_projectors() -> list[dict]:
    try:
        failing = projections.failing()
    except DatabaseError as error:  # it answered SELECT 1 a moment ago: say so, and what went wrong
        logger.warning("Health: the projectors' state could not be read: %s", error)
        return []
    return [
        {
            "projector": name,
            "event_position": failure.event_position,
            "event_type": failure.event_type,
            "error_type": failure.error_type,
            "failing_since": failure.since.isoformat(timespec="seconds"),
            "attempts": failure.failures,
            "next_attempt_at": failure.next_attempt_at.isoformat(timespec="seconds"),
        }
        for name, failure in failing.items()
    ]
