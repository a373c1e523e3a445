"""A partner's webhook receiver for tests: a real HTTP server on 127.0.0.1, in a thread of the test,
that answers as it is told (2xx, 500, a redirect, or slowly), and the receiver's signature check as
docs/webhooks.md gives it to partners.

    with Receiver() as receiver:          # listening on a free port
        receiver.answer = SLOW            # hold each request until released (or the test ends)
        receiver.release()
    down = Receiver()                     # not started: nothing listens on its port
"""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from tests.serving import free_port
from webhooks.models import WebhookDelivery, WebhookEndpoint

ROOT = Path(__file__).resolve().parent.parent
OK, FAIL, SLOW, REDIRECT = "ok", "fail", "slow", "redirect"
HOLD_AT_MOST = 30.0  # seconds a slow answer is held if the test never releases it


@dataclass(frozen=True)
class Received:
    """One request the receiver took, and how it answered (None: it never answered, held too long)."""

    path: str
    headers: dict[str, str]
    body: bytes
    answered: int | None
    at: float

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    """A webhook receiver on `port` (a free one by default)."""

    port: int = field(default_factory=free_port)
    answer: str = OK
    redirect_to: str = ""
    received: list[Received] = field(default_factory=list)
    on_request: Callable[[], None] | None = None  # run in the server's thread before each answer
    _server: ThreadingHTTPServer | None = None
    _released: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    holding: int = 0  # slow requests being held now

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def __enter__(self) -> Receiver:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                if receiver.on_request is not None:
                    receiver.on_request()
                mode, status = receiver.answer, None
                if mode == SLOW:
                    with receiver._lock:
                        receiver.holding += 1
                    receiver._released.wait(HOLD_AT_MOST)
                    with receiver._lock:
                        receiver.holding -= 1
                    mode = OK if receiver.answer == SLOW else receiver.answer
                status = {OK: 200, FAIL: 500, REDIRECT: 302}[mode]
                # Recorded before the answer goes: a sender that has read it finds it recorded.
                record = Received(self.path, dict(self.headers), body, status, time.monotonic())
                with receiver._lock:
                    receiver.received.append(record)
                try:
                    self.send_response(status)
                    if status == 302:
                        self.send_header("Location", receiver.redirect_to)
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"ok")
                except (BrokenPipeError, ConnectionResetError):
                    with receiver._lock:  # the sender gave up waiting and went away: never answered
                        at = next(n for n, r in enumerate(receiver.received) if r is record)
                        receiver.received[at] = replace(record, answered=None)

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - http.server's name
                pass  # quiet: the test reads `received`

        self._released.clear()
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, name=f"receiver-{self.port}", daemon=True).start()

    def release(self) -> None:
        """Let the slow requests held now answer."""
        self._released.set()

    def hold_again(self) -> None:
        self._released.clear()

    def stop(self) -> None:
        self.release()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def taken(self) -> list[Received]:
        """The requests it answered 2xx, in the order it took them."""
        with self._lock:
            return [r for r in self.received if r.answered is not None and 200 <= r.answered < 300]

    def kinds_taken(self, order_id: str) -> list[str]:
        """The kinds of the order's events it answered 2xx, in order."""
        return [r.json()["type"] for r in self.taken() if r.json()["data"].get("order_id") == order_id]


def documented_signature_check() -> Callable[..., bool]:
    """The receiver's check exactly as docs/webhooks.md gives it (the first Python block of its
    "Checking the signature" section), run as a partner would paste it."""
    text = (ROOT / "docs" / "webhooks.md").read_text()
    section = text.split("## Checking the signature", 1)[1]
    snippet = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert snippet is not None, "docs/webhooks.md has no Python snippet under 'Checking the signature'"
    namespace: dict[str, Any] = {}
    exec(compile(snippet.group(1), "docs/webhooks.md", "exec"), namespace)  # noqa: S102 - our own documentation
    return namespace["shop_signature_is_valid"]


def queued(
    endpoint: WebhookEndpoint, order_id: str, kinds: list[str], *, at: datetime | None = None
) -> list[WebhookDelivery]:
    """Deliveries of an order's `kinds` written straight to the outbox for `endpoint`, next in line
    for the order, as the consumer group writes them (`at`: when; now by default)."""
    at = at or datetime.now(UTC)
    last = endpoint.deliveries.filter(subject=f"order:{order_id}").count()
    rows = []
    for n, kind in enumerate(kinds, start=1):
        event_id = uuid.uuid4()
        data = {"order_id": order_id, "status": kind.removeprefix("order."), "previous_status": None}
        body = json.dumps({"id": str(event_id), "type": kind, "created_at": at.isoformat(), "data": data})
        rows.append(
            WebhookDelivery.objects.create(
                endpoint=endpoint,
                event_id=event_id,
                kind=kind,
                subject=f"order:{order_id}",
                sequence=last + n,
                order_id=order_id,
                body=body,
                next_attempt_at=at,
                created_at=at,
                retry_from=at,
            )
        )
    return rows
