"""The Celery app. Its settings live in Django's settings under the CELERY_ prefix."""

import os

from celery import Celery
from celery.signals import before_task_publish, celeryd_init, setup_logging, task_postrun, task_prerun
from kombu import Queue

from shopsite.observability import context, logs

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shopsite.settings")

app = Celery("shopsite")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Worker and beat log as every process does (Django's LOGGING), and a task's lines carry the id
# of the request that sent it.
setup_logging.connect(logs.configure_for_celery)
before_task_publish.connect(context.carry_request_id)
task_prerun.connect(context.bind_task)
task_postrun.connect(context.forget_task)


@celeryd_init.connect
def serve_every_components_queue(conf, **_) -> None:
    """A worker's queues are those of the installed components' groups and the projectors' (`-Q`
    picks some of them). Sent as a worker starts, after Django is set up and before the worker
    reads its queues."""
    from eventstore import components

    conf.task_queues = [Queue(name) for name in components.queues()]


@task_postrun.connect
def close_broken_connections(task, **_) -> None:
    """After each task a worker runs, as Django does after each request: a database connection that
    failed (terminated, the server restarted) or outlived CONN_MAX_AGE is closed, and the next task
    checks its connection before the first query (CONN_HEALTH_CHECKS). Celery closes connections
    only every CELERY_DB_REUSE_MAX tasks: until then a pool process failed every task on a dead one."""
    if not task.request.is_eager:  # an eager task runs inside its caller's request or transaction
        from django.db import close_old_connections

        close_old_connections()
