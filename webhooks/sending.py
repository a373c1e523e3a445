"""Sending the outbox: each endpoint on its own, by one sender at a time, in order per subject.

A sender leases the endpoint (a row, as a consumer group's partition is leased), then sends its
due deliveries oldest first, only the oldest pending one of each subject (an order, a message) at
a time, so a partner hears of an order's changes in the order they happened. Each delivery is
claimed in a short transaction that commits before the HTTP call, and its attempt is recorded in a
new one after it: no transaction that has written is ever held open across a call, where it would
hold back every gap-safe reader of the log.

A 2xx answer delivers it. Anything else (another status, a redirect, a timeout, a refused
connection, an address S17 refuses) is a failure of the endpoint: the run stops there, so a dead
receiver costs one timeout per backoff, not one per delivery, and the endpoint waits
WEBHOOK_RETRY_BASE_SECONDS doubling at each failure in a row, at most WEBHOOK_MAX_BACKOFF_SECONDS.
A delivery still undelivered WEBHOOK_RETRY_HOURS after it was written (or replayed) is parked at
its next failure. Every endpoint is its own task, with a short timeout: a slow or dead receiver holds up no
other partner's deliveries. How runs are asked for: `webhooks.transport`.
"""

from __future__ import annotations

import enum
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.models import Exists, F, OuterRef, QuerySet

from eventstore import leases, wakeups

from . import addresses
from .domain import RetryPolicy
from .models import DELIVERED, PARKED, PENDING, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from .signing import EVENT_ID_HEADER, SIGNATURE_HEADER, signature

logger = logging.getLogger("webhooks")

Clock = Callable[[], datetime]


class Sent(enum.Enum):
    CAUGHT_UP = "nothing more is due"
    FAILED = "stopped at a failure: the endpoint backs off"
    MORE = "stopped with more to send"  # the caller asks for another run
    BUSY = "another sender holds the endpoint"


class TransactionHeldOpen(RuntimeError):
    """An HTTP call was about to be made inside a database transaction."""


@dataclass(frozen=True)
class Outcome:
    """How one attempt went: the answer's status (None: no answer), its time, what went wrong."""

    status_code: int | None
    duration_ms: int
    error: str = ""

    @property
    def delivered(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def now() -> datetime:
    return datetime.now(UTC)


def retry_policy() -> RetryPolicy:
    """The settings' retry policy (read when used: tests change the settings)."""
    return RetryPolicy(
        base_seconds=settings.WEBHOOK_RETRY_BASE_SECONDS,
        max_backoff_seconds=settings.WEBHOOK_MAX_BACKOFF_SECONDS,
        retry_for=timedelta(hours=settings.WEBHOOK_RETRY_HOURS),
    )


def lease_length() -> timedelta:
    """How long a sender's lease lasts: a dead sender's endpoint is taken over after this. Each
    claim renews it, so it must outlast one attempt: connecting, sending and reading the answer
    may each take up to the timeout."""
    return timedelta(seconds=settings.WEBHOOK_TIMEOUT_SECONDS * 4 + 30)


def send_requested_key(endpoint_id: int) -> str:
    """The cache key that says a send run of the endpoint is queued and has not started."""
    return f"webhooks:send-requested:{endpoint_id}"


def send_due(
    endpoint_id: int,
    *,
    clock: Clock = now,
    resolver: addresses.Resolver = addresses.resolve,
    transport: httpx.BaseTransport | None = None,
    seconds: float = 10.0,
) -> Sent:
    """Send what is due to one endpoint, for about `seconds` at most (`transport`: httpx's, for
    tests; `clock` and `resolver` likewise)."""
    holder = leases.new_holder()
    if not leases.take(WebhookEndpoint.objects.filter(pk=endpoint_id), holder, length=lease_length(), at=clock()):
        return Sent.BUSY
    requested = send_requested_key(endpoint_id)
    wakeups.started(requested)  # from here on, a new delivery asks again
    try:
        with _client(transport) as client:
            sent = _send_leased(endpoint_id, holder, client, clock=clock, resolver=resolver, seconds=seconds)
    finally:
        leases.release(WebhookEndpoint.objects.filter(pk=endpoint_id), holder)
    if sent is Sent.FAILED:
        # Nothing is sent before the backoff ends, when the sweep asks: a run asked for meanwhile
        # (and found the endpoint busy) must not leave its mark to hold that request back.
        wakeups.started(requested)
    elif sent is Sent.CAUGHT_UP and wakeups.asked_meanwhile(requested):
        sent = Sent.MORE
    return sent


def _send_leased(
    endpoint_id: int, holder: str, client: httpx.Client, *, clock: Clock, resolver: addresses.Resolver, seconds: float
) -> Sent:
    deadline, policy = time.monotonic() + seconds, retry_policy()
    while True:
        claimed = _claim(endpoint_id, holder, clock())
        if claimed is None:
            return Sent.CAUGHT_UP
        endpoint, delivery = claimed
        outcome = _post(endpoint, delivery, client, clock=clock, resolver=resolver)
        if not _record(endpoint, delivery, outcome, at=clock(), policy=policy):
            return Sent.FAILED
        if time.monotonic() > deadline:
            return Sent.MORE


def _claim(endpoint_id: int, holder: str, at: datetime) -> tuple[WebhookEndpoint, WebhookDelivery] | None:
    """The endpoint and its next delivery due, the lease renewed; None when nothing is due, the
    endpoint backs off or is inactive, or the lease was lost. Committed when it returns."""
    with transaction.atomic():
        if not leases.renew(WebhookEndpoint.objects.filter(pk=endpoint_id), holder, length=lease_length(), at=at):
            return None  # another sender took over: this one ran past its lease
        endpoint = WebhookEndpoint.objects.get(pk=endpoint_id)
        if not endpoint.active or (endpoint.next_attempt_at is not None and endpoint.next_attempt_at > at):
            return None
        delivery = heads(endpoint, at=at).first()
    return None if delivery is None else (endpoint, delivery)


def heads(endpoint: WebhookEndpoint, *, at: datetime) -> QuerySet[WebhookDelivery]:
    """The endpoint's deliveries due at `at` that are first in line for their subject, oldest first."""
    earlier = WebhookDelivery.objects.filter(
        endpoint=OuterRef("endpoint"), subject=OuterRef("subject"), state=PENDING, sequence__lt=OuterRef("sequence")
    )
    return (
        WebhookDelivery.objects.filter(endpoint=endpoint, state=PENDING, next_attempt_at__lte=at)
        .exclude(Exists(earlier))
        .order_by("id")
    )


def _client(transport: httpx.BaseTransport | None) -> httpx.Client:
    # One client per run, closed after it: its connections serve one endpoint's host. Proxies
    # from the environment are not used: the request must go to the address that was checked.
    return httpx.Client(
        timeout=settings.WEBHOOK_TIMEOUT_SECONDS,
        follow_redirects=False,
        trust_env=False,
        transport=transport,
        headers={"User-Agent": "Shop-Webhooks/1"},
    )


def _post(
    endpoint: WebhookEndpoint,
    delivery: WebhookDelivery,
    client: httpx.Client,
    *,
    clock: Clock,
    resolver: addresses.Resolver,
) -> Outcome:
    if connections[DEFAULT_DB_ALIAS].in_atomic_block:
        raise TransactionHeldOpen(
            "A webhook is never sent inside a database transaction: it would hold back the log's readers."
        )
    started = time.monotonic()

    def took() -> int:
        return round((time.monotonic() - started) * 1000)

    body = delivery.body.encode()
    try:
        target = addresses.target(endpoint.url, allow_private=settings.WEBHOOK_ALLOW_PRIVATE, resolver=resolver)
    except addresses.RefusedURL as refused:
        return Outcome(None, took(), f"Refused: {refused}")
    headers = {
        "Content-Type": "application/json",
        EVENT_ID_HEADER: str(delivery.event_id),
        SIGNATURE_HEADER: signature(secret=endpoint.secret, timestamp=int(clock().timestamp()), body=body),
    }
    if target.host_header:
        headers["Host"] = target.host_header
    extensions = {"sni_hostname": target.server_name} if target.server_name else {}
    try:
        # The answer's body is never read: only its status counts, and a receiver cannot make the
        # sender hold a large or endless one.
        with client.stream("POST", target.url, content=body, headers=headers, extensions=extensions) as answer:
            code = answer.status_code
            location = answer.headers.get("Location", "")
    except httpx.TimeoutException as timed_out:
        return Outcome(
            None, took(), f"Timed out after {settings.WEBHOOK_TIMEOUT_SECONDS:g} s ({type(timed_out).__name__})."
        )
    except httpx.HTTPError as failed:
        return Outcome(None, took(), f"{type(failed).__name__}: {failed}"[:2000])
    if 300 <= code < 400:
        return Outcome(code, took(), f"Redirect to {location[:500]!r} not followed.")
    return Outcome(code, took(), "" if 200 <= code < 300 else f"Answered {code}.")


def _record(
    endpoint: WebhookEndpoint, delivery: WebhookDelivery, outcome: Outcome, *, at: datetime, policy: RetryPolicy
) -> bool:
    """Record the attempt and what follows from it; whether it delivered."""
    with transaction.atomic():
        WebhookAttempt.objects.create(
            delivery=delivery,
            at=at,
            status_code=outcome.status_code,
            duration_ms=outcome.duration_ms,
            error=outcome.error,
        )
        deliveries = WebhookDelivery.objects.filter(pk=delivery.pk)
        endpoints = WebhookEndpoint.objects.filter(pk=endpoint.pk)
        if outcome.delivered:
            deliveries.update(state=DELIVERED, attempts=F("attempts") + 1, delivered_at=at)
            endpoints.update(failures=0, next_attempt_at=None, last_error="")
            return True
        failures = endpoint.failures + 1  # the lease keeps every other sender off the endpoint
        retry_at = at + policy.backoff(failures)
        deliveries.update(attempts=F("attempts") + 1, next_attempt_at=retry_at)
        endpoints.update(failures=failures, next_attempt_at=retry_at, last_error=outcome.error)
        if policy.gives_up(retry_from=delivery.retry_from, now=at):
            parked = WebhookDelivery.objects.filter(
                endpoint=endpoint, state=PENDING, retry_from__lte=at - policy.retry_for
            ).update(state=PARKED)
            logger.error(
                "Webhook endpoint %s: parked %s deliveries undelivered since %s.", endpoint.pk, parked, policy.retry_for
            )
    logger.warning("Webhook endpoint %s failed (%s in a row): %s", endpoint.pk, failures, outcome.error)
    return False
