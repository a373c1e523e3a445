"""The ids bound to the log context (`structlog.contextvars`), and how they cross to Celery workers.

- `request_id`: a web request's id, taken from its `X-Request-ID` header when well formed, else
  new; the site answers with it in `X-Request-ID`. Carried to the Celery tasks the request sends
  (a message header), so a worker's lines for such a task carry it too.
- `correlation_id`: the flow's id, the raw input message's id (docs/design.md 3). Bound by the gateway
  once a message is stored, and by the consumer groups around each message they handle.
- `task`, `task_id`: the Celery task a worker's line belongs to.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

import structlog

#: What a client's `X-Request-ID` may be: bounded, and nothing that could mislead a log reader.
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:+=/-]{1,128}")
#: The Celery message header carrying the request id (not a name Celery uses itself).
TASK_HEADER = "shop_request_id"


def request_id_from(header: str | None) -> str:
    """The id of a request: its `X-Request-ID` if well formed (1 to 128 letters, digits or
    `._:+=/-`), else a new uuid4."""
    if header is not None and _REQUEST_ID.fullmatch(header):
        return header
    return str(uuid.uuid4())


def carry_request_id(headers: dict[str, Any] | None = None, **_: Any) -> None:
    """Celery's `before_task_publish`: the sender's request id goes with the task."""
    request_id = structlog.contextvars.get_contextvars().get("request_id")
    if request_id is not None and headers is not None:
        headers[TASK_HEADER] = request_id


def bind_task(task_id: str, task: Any, **_: Any) -> None:
    """Celery's `task_prerun`: a worker's lines for this task carry its name, id and the request id
    it was sent with. A task run eagerly (no broker) keeps its caller's context, in its thread."""
    if task.request.is_eager:
        return
    structlog.contextvars.clear_contextvars()
    context = {"task": task.name, "task_id": task_id}
    if request_id := getattr(task.request, TASK_HEADER, None):
        context["request_id"] = request_id
    structlog.contextvars.bind_contextvars(**context)


def forget_task(task: Any, **_: Any) -> None:
    """Celery's `task_postrun`: nothing of this task's context leaks into the worker's next lines."""
    if not task.request.is_eager:
        structlog.contextvars.clear_contextvars()
