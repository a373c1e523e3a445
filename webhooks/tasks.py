"""Celery entry points of the webhooks' sender: thin, they call webhooks.sending and
webhooks.transport and nothing else."""

from celery import shared_task

from . import sending, transport


@shared_task(acks_late=True, reject_on_worker_lost=True)
def send_deliveries(endpoint_id: int) -> None:
    """Send what is due to one endpoint; queue another run if there is more."""
    if sending.send_due(endpoint_id) is sending.Sent.MORE:
        transport.request_sends([endpoint_id], force=True)
