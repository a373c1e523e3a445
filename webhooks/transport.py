"""How send runs are asked for: after a commit that wrote deliveries, from beat's sweep, and with
no broker in the embedded worker.

- With a broker, each endpoint's run is a task of its own on the `webhooks` queue
  (`webhooks.tasks.send_deliveries`), asked for once while one is queued and not started (a mark
  in the cache, as for a consumer group's drains); the groups' sweep (beat's, every second, and
  `manage.py consumers sweep`: the group's `sweep_outbox`) asks for every
  endpoint with deliveries due, so a lost task or an ended backoff costs a second at most.
- With no broker, the embedded worker runs it (EMBEDDED_WORKER=thread), and again when the
  endpoint's backoff ends if it failed, as no beat sweeps; inline, the asking thread runs it
  until nothing more is due now (a backoff is left to the next sweep).

Which of these applies, `eventstore.execution.mode()` says.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.db import DatabaseError
from django.db.models import Exists, OuterRef, Q, QuerySet
from kombu.exceptions import OperationalError as BrokerError
from redis.exceptions import RedisError

from eventstore import background, execution, leases

from .models import PENDING, WebhookDelivery, WebhookEndpoint
from .sending import Clock, Sent, now, send_due, send_requested_key

logger = logging.getLogger("webhooks")


def request_sends(endpoint_ids: Iterable[int], *, force: bool = False) -> None:
    """Ask for a send run of each endpoint, unless one is queued and has not started (`force`:
    whatever is queued). A broker or cache that is down is no error here: the sweep asks again."""
    mode = execution.mode()
    for endpoint_id in endpoint_ids:
        key = send_requested_key(endpoint_id)
        if mode is execution.Mode.THREAD:
            background.submit([EmbeddedSend(endpoint_id)], key=key, lane="webhooks")
            continue
        try:
            if mode is execution.Mode.BROKER:
                execution.send_task("webhooks.tasks.send_deliveries", endpoint_id, key=key, force=force)
            else:
                while send_due(endpoint_id) is Sent.MORE:
                    pass
        except (DatabaseError, BrokerError, RedisError):
            logger.exception("Webhook endpoint %s: asking for a send failed; the sweep will ask again.", endpoint_id)


@dataclass(frozen=True)
class EmbeddedSend:
    """A send run of one endpoint as the embedded worker's work: it comes back when the endpoint's
    backoff ends if it failed, at once if there is more."""

    endpoint_id: int

    def __call__(self) -> float | None:
        sent = send_due(self.endpoint_id)
        if sent is Sent.MORE:
            return 0.0
        if sent is Sent.BUSY:
            return 1.0  # another thread of the process, or a process beside it, has it in hand
        if sent is Sent.FAILED:
            endpoint = WebhookEndpoint.objects.filter(pk=self.endpoint_id)
            retry_at = endpoint.values_list("next_attempt_at", flat=True).first()
            return None if retry_at is None else max(0.0, (retry_at - now()).total_seconds())
        return None

    def __str__(self) -> str:
        return f"webhook send run of endpoint {self.endpoint_id}"


def due_endpoints(*, at: datetime) -> QuerySet[WebhookEndpoint]:
    """Active endpoints that are not backing off nor held by a sender, with deliveries due."""
    due = WebhookDelivery.objects.filter(endpoint=OuterRef("pk"), state=PENDING, next_attempt_at__lte=at)
    return WebhookEndpoint.objects.filter(
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=at),
        leases.free(at=at),
        Exists(due),
        active=True,
    )


def sweep(*, clock: Clock = now) -> int:
    """Ask for a send run of every endpoint with deliveries due (beat runs this every second; with
    no broker the runs happen here). How many were asked for."""
    endpoint_ids = list(due_endpoints(at=clock()).values_list("pk", flat=True))
    request_sends(endpoint_ids)
    return len(endpoint_ids)
