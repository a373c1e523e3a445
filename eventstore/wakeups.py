"""Asking for a task once: a mark in the cache says a run is queued and has not started.

Consumer-group drains and projector runs are asked for after every commit. A Celery message per
commit would cost more than the work it asks for, so a commit sets a mark with the cache's `add`
(one SET NX on Redis, shared by every process) and sends the task only when it set it; the task
clears the mark when it starts, so whatever commits from then on asks for the next run. The mark
expires after CONSUMER_DRAIN_REQUEST_SECONDS in case its task is lost; beat asks regardless.
"""

from __future__ import annotations

from django.conf import settings
from django.core.cache import cache


def ask_once(key: str, task, *args, force: bool = False) -> bool:
    """Send `task(*args)` unless the mark `key` says one is queued (`force`: send it anyway).
    Whether it was sent."""
    if not cache.add(key, 1, timeout=settings.CONSUMER_DRAIN_REQUEST_SECONDS) and not force:
        return False
    task.delay(*args)
    return True


def started(key: str) -> None:
    """The asked-for run starts: commits from now on ask for another."""
    cache.delete(key)


def asked_meanwhile(key: str) -> bool:
    """Whether another run was asked for since `started`."""
    return cache.get(key) is not None
