"""gunicorn settings for R5 (`--config=python:tests.faults.gunicorn_dies_before_publishing`): the
site's own (`gunicorn.conf.py`), and a web worker dies the moment it would publish a Celery task.
It publishes only once the post's transaction has committed, so the message is stored, no task is
sent, and the partner gets no answer. gunicorn starts another worker, as after any crash; the site
is preloaded so that the new worker is a fork, not a second start of Django."""

import os
import runpy
from pathlib import Path

_SITE_SETTINGS = Path(__file__).resolve().parent.parent.parent / "gunicorn.conf.py"
globals().update({k: v for k, v in runpy.run_path(str(_SITE_SETTINGS)).items() if not k.startswith("__")})

preload_app = True


def post_worker_init(worker) -> None:
    from celery.app.task import Task

    def die(*args, **kwargs) -> None:
        os._exit(70)  # at once, as a SIGKILL would: no cleanup, no answer

    Task.apply_async = die
