"""Where the work a commit asks for runs: the one place that decides (docs/design.md section 7.1).

    BROKER   a Celery task on the broker's queues (`CELERY_BROKER_URL` set), for the workers
    THREAD   no broker: the process's embedded worker, a background thread (`eventstore.background`)
    INLINE   no broker: the asking thread itself, before it goes on (EMBEDDED_WORKER=inline)

The consumer groups', the projectors' and the webhooks' transports ask `mode()` and nothing else.
With a broker a task is sent by its name (its queue from `eventstore.components.route`), so no
module of the mechanics imports a tasks module: the tasks modules import the mechanics.
"""

from __future__ import annotations

import enum
import threading
from importlib import import_module

from celery import current_app
from django.conf import settings

from eventstore import wakeups


class Mode(enum.Enum):
    BROKER = "broker"
    THREAD = "thread"
    INLINE = "inline"


def mode() -> Mode:
    """How the work asked for runs now (read when asked: tests change the settings)."""
    if not settings.CELERY_TASK_ALWAYS_EAGER:
        return Mode.BROKER
    return Mode.THREAD if settings.EMBEDDED_WORKER == "thread" else Mode.INLINE


def in_process() -> bool:
    """Whether there is no broker: the work runs in this process."""
    return mode() is not Mode.BROKER


def send_task(name: str, *args, key: str | None = None, force: bool = False) -> bool:
    """Send the Celery task `name` with `args`; with a `key`, only if no such task is queued and not
    started (`eventstore.wakeups.ask_once`; `force`: whatever is queued). Whether it was sent."""
    task = _task(name)
    if key is None:
        task.delay(*args)
        return True
    return wakeups.ask_once(key, task, *args, force=force)


#: Held while a task's module is imported: a web process's threads may ask for tasks at once, and
#: one that found the module half imported by another would find its task missing.
_importing = threading.Lock()


def _task(name: str):
    app = current_app
    if name not in app.tasks:
        # A web process has imported no tasks module: import the task's own, by its name.
        with _importing:
            import_module(name.rpartition(".")[0])
    return app.tasks[name]
