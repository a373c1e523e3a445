"""Celery entry points of the consumer groups and the projectors: thin, they call eventstore.consumers
and eventstore.projections and nothing else."""

import uuid

from celery import shared_task

from eventstore import consumers, projections


@shared_task(acks_late=True, reject_on_worker_lost=True)
def drain(group_name: str, partition: int) -> None:
    """Handle what is due in one partition of a group; queue another drain if there is more."""
    group = consumers.group(group_name)
    if consumers.drain(group, partition) is consumers.Drained.MORE:
        consumers.request_drain(group, partition, force=True)


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=None)
def deliver(self, group_name: str, event_id: str) -> None:
    """Hand one event (a replayed one) to one group; a transient failure comes back after the backoff."""
    group, event = consumers.group(group_name), uuid.UUID(event_id)
    while (retry_in := consumers.deliver(group, event)) is not None:
        if not self.request.is_eager:
            raise self.retry(countdown=retry_in)
        # In-process (no broker) there is no queue to wait in: the next attempt runs at once.


@shared_task
def sweep_consumer_groups() -> int:
    """Ask for a drain of every partition with work waiting (beat runs this); how many."""
    return consumers.sweep()


@shared_task(acks_late=True, reject_on_worker_lost=True)
def project(name: str) -> None:
    """Apply what the log holds for one projector; queue another run if there is more."""
    projector = projections.projector(name)
    if projections.run(projector) is projections.Ran.MORE:
        projections.request_run(projector, force=True)


@shared_task
def sweep_projections() -> int:
    """Ask for a run of every projector (beat runs this); how many."""
    return projections.sweep()


@shared_task(acks_late=True, reject_on_worker_lost=True)
def rebuild_projection(name: str) -> None:
    """Rebuild one read model from the whole log (the admin's Rebuild action queues this)."""
    projections.rebuild(projections.projector(name))
