"""Periodic upkeep of the gateway, run by Celery beat."""

from celery import shared_task

from gateway.service import forget_idempotency_keys


@shared_task
def forget_old_idempotency_keys() -> int:
    return forget_idempotency_keys()
