"""Prometheus metrics and `GET /metrics`.

Requests are counted and timed by the middleware (`observe_request`), by method, route (the URL
pattern's name, so ids in paths do not make new series) and status. The event store's figures
(consumer groups' lag and parked messages, projectors' lag and failures) are read at each scrape by
`StoreCollector`, from the same status code the admin and `manage.py consumers|projections status`
use.

With gunicorn's several worker processes, set PROMETHEUS_MULTIPROC_DIR: each process writes its
counts to files there and a scrape, whichever process answers it, adds them all up
(prometheus_client's multiprocess mode; gunicorn.conf.py empties the directory when the server
starts and tells the library when a worker exits).

Only staff users, and clients whose own address (REMOTE_ADDR, never a header the client writes)
is in METRICS_ALLOWED_IPS, may read `/metrics`; anyone else gets 403 and nothing measured.
"""

from __future__ import annotations

import ipaddress
import logging
import os
from collections.abc import Iterator

from django.conf import settings
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

logger = logging.getLogger(__name__)

_LABELS = ("method", "route", "status")
REQUESTS = Counter("shop_http_requests", "HTTP requests answered, by method, route and status.", _LABELS)
REQUEST_SECONDS = Histogram(
    "shop_http_request_duration_seconds", "Time to answer an HTTP request, by method, route and status.", _LABELS
)


def observe_request(*, method: str, route: str, status: int, seconds: float) -> None:
    """Count one answered request and its duration."""
    labels = (method, route, str(status))
    REQUESTS.labels(*labels).inc()
    REQUEST_SECONDS.labels(*labels).observe(seconds)


class StoreCollector(Collector):
    """The consumer groups' and projectors' state, read from the database at each scrape."""

    def collect(self) -> Iterator[Metric]:
        from eventstore import consumers, projections
        from gateway.models import MessageOutcome

        up = GaugeMetricFamily("shop_store_up", "1 if the event store's figures could be read at this scrape, else 0.")
        try:
            groups = [consumers.status(group) for group in consumers.registered()]
            projectors = [projections.status(projector) for projector in projections.registered()]
            unroutable = MessageOutcome.objects.filter(status="unroutable").count()
        except DatabaseError:
            logger.warning("Metrics: the event store's figures could not be read.", exc_info=True)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from _gauges(_GROUP_GAUGES, "group", groups)
        yield from _gauges(_PROJECTOR_GAUGES, "projector", projectors)
        yield GaugeMetricFamily(
            "shop_unroutable_messages", "Messages stored that no component takes (applies unknown).", unroutable
        )


#: Metric name: (the status field it shows, its help).
_GROUP_GAUGES = {
    "shop_consumer_lag_events": (
        "lag_events",
        "Events the consumer group has still to handle (not handled, not parked), counted up to "
        "a cap (eventstore.lag.COUNT_CAP).",
    ),
    "shop_consumer_lag_seconds": ("lag_seconds", "Age of the oldest event the consumer group has still to handle."),
    "shop_consumer_retrying_messages": ("retrying", "Messages the consumer group failed on, to be tried again."),
    "shop_consumer_parked_messages": ("parked", "Messages the consumer group parked, not yet replayed or skipped."),
}
_PROJECTOR_GAUGES = {
    "shop_projector_lag_events": (
        "lag_events",
        "Events of the projector's types after its checkpoint, counted up to a cap (eventstore.lag).",
    ),
    "shop_projector_lag_seconds": (
        "lag_seconds",
        "Age of the oldest event of the projector's types after its checkpoint.",
    ),
    # Which event and which error are on its row (the admin, `projections status`, /healthz):
    # labels of those would make a new series per event.
    "shop_projector_failing": (
        "failing",
        "1 if the projector's code failed on an event and it stopped before it (its row says which), else 0.",
    ),
    "shop_projector_failed_attempts": (
        "failed_attempts",
        "Attempts in a row that failed on the event the projector stopped at (0 when not failing).",
    ),
}


def _gauges(gauges: dict[str, tuple[str, str]], label: str, statuses: list) -> Iterator[Metric]:
    for name, (field, help_text) in gauges.items():
        family = GaugeMetricFamily(name, help_text, labels=[label])
        for status in statuses:
            family.add_metric([status.name], float(getattr(status, field)))
        yield family


def exposition() -> bytes:
    """Every metric in Prometheus' text format: this process's counts, or with
    PROMETHEUS_MULTIPROC_DIR set, the sum over every process's, and the store's figures."""
    registry = CollectorRegistry(auto_describe=False)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        MultiProcessCollector(registry)
    else:
        registry.register(REGISTRY)  # a registry is itself a collector: this process's metrics
    registry.register(StoreCollector())
    return generate_latest(registry)


def may_read_metrics(request: HttpRequest) -> bool:
    """Staff, or a client whose own address (REMOTE_ADDR) is in METRICS_ALLOWED_IPS."""
    if _allowed_address(request.META.get("REMOTE_ADDR", "")):
        return True
    user = getattr(request, "user", None)
    return bool(user is not None and user.is_active and user.is_staff)


def _allowed_address(remote_addr: str) -> bool:
    try:
        address = ipaddress.ip_address(remote_addr)
    except ValueError:
        return False  # no address (a Unix socket) is no allowed address
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped  # an IPv4 client of a dual-stack listener
    return any(address in network for network in settings.METRICS_ALLOWED_IPS)


@never_cache
@require_safe
def metrics(request: HttpRequest) -> HttpResponse:
    """`GET /metrics`: the exposition, for staff and allowed addresses; 403 for anyone else."""
    if not may_read_metrics(request):
        return HttpResponseForbidden()
    return HttpResponse(exposition(), content_type=CONTENT_TYPE_LATEST)
