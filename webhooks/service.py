"""The webhooks' application layer: setting an endpoint, writing deliveries to the outbox,
replaying deliveries. The admin, `create_partner` and the consumer group call these."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from django.db import transaction
from django.db.models import Max

from eventstore.store import RecordedEvent
from gateway.models import Partner

from . import transport
from .domain import wants
from .models import DELIVERED, PARKED, PENDING, WebhookDelivery, WebhookEndpoint


def add_endpoint(*, partner: Partner, url: str, kinds: Sequence[str] = ()) -> WebhookEndpoint:
    """A new endpoint of `partner` (its secret generated), checked as the admin checks it
    (django.core.exceptions.ValidationError when it may not be set)."""
    endpoint = WebhookEndpoint(partner=partner, url=url, kinds=list(kinds))
    endpoint.full_clean()
    endpoint.save()
    return endpoint


def write_deliveries(
    event: RecordedEvent,
    *,
    partner: str,
    kind: str,
    subject: str,
    data: dict[str, Any],
    order_id: str = "",
    message_id: str | None = None,
    endpoints: Sequence[WebhookEndpoint] | None = None,
) -> list[WebhookDelivery]:
    """Write the delivery of `event` as `kind` to every active endpoint of `partner` that wants it,
    each next in line for `subject` (inside the consumer group's transaction); the sender is asked
    for once it commits. `endpoints`: the partner's active ones, when the caller has them already."""
    if endpoints is None:
        endpoints = active_endpoints(partner)
    endpoints = [endpoint for endpoint in endpoints if wants(endpoint.kinds, kind)]
    if not endpoints:
        return []
    body = json.dumps(
        {"id": str(event.event_id), "type": kind, "created_at": event.recorded_at.isoformat(), "data": data},
        separators=(",", ":"),
        ensure_ascii=False,
    )
    last = dict(
        WebhookDelivery.objects.filter(endpoint__in=endpoints, subject=subject)
        .values("endpoint")
        .annotate(last=Max("sequence"))
        .values_list("endpoint", "last")
    )
    now = datetime.now(UTC)
    deliveries = WebhookDelivery.objects.bulk_create(
        WebhookDelivery(
            endpoint=endpoint,
            event_id=event.event_id,
            kind=kind,
            subject=subject,
            sequence=last.get(endpoint.pk, 0) + 1,
            order_id=order_id,
            message_id=message_id,
            body=body,
            next_attempt_at=now,
            created_at=now,
            retry_from=now,
        )
        for endpoint in endpoints
    )
    endpoint_ids = [endpoint.pk for endpoint in endpoints]
    # robust: the deliveries are committed whatever asking for their sending meets (logged); the
    # sweep asks again.
    transaction.on_commit(lambda: transport.request_sends(endpoint_ids), robust=True)
    return deliveries


def active_endpoints(partner: str) -> list[WebhookEndpoint]:
    """The active endpoints of the partner named `partner` (none for no partner)."""
    return list(WebhookEndpoint.objects.filter(partner__name=partner, active=True)) if partner else []


def replay_deliveries(delivery_ids: Iterable[int]) -> int:
    """Send the parked or delivered deliveries among `delivery_ids` again, from now and for as long
    as a new one, in their places among their subjects' deliveries; their endpoints may try at
    once. How many."""
    now = datetime.now(UTC)
    with transaction.atomic():
        replayed = WebhookDelivery.objects.filter(pk__in=list(delivery_ids), state__in=[PARKED, DELIVERED])
        endpoint_ids = sorted(set(replayed.values_list("endpoint_id", flat=True)))
        # Tried again from now, for WEBHOOK_RETRY_HOURS as a new delivery is: not parked again at
        # its first failure for being old.
        count = replayed.update(state=PENDING, next_attempt_at=now, retry_from=now, delivered_at=None)
        # Staff asked for it now: the endpoints' backoff does not hold it back (a failure sets it again).
        WebhookEndpoint.objects.filter(pk__in=endpoint_ids).update(next_attempt_at=None)
        transaction.on_commit(lambda: transport.request_sends(endpoint_ids), robust=True)
    return count
