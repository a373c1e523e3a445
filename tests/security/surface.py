"""What the security suite's modules share: the count of what the store holds,
an order's summary once the flow has reached a state, and the site served by gunicorn on the test
database, for the rows whose behaviour is the server's.

    key = new_partner_key("acme")                  # tests.partners; committed: a served site sees it
    before = stored()                              # (shop-input events, idempotency records)
    with served_site(GATEWAY_RATE_PER_MINUTE="3") as site:
        answer = raw_request(site, "POST", "/shop/api/v1", body=b"...", headers={...})
    assert stored() == before
"""

from __future__ import annotations

import http.client
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from eventstore.models import Event
from gateway.models import IdempotencyRecord
from gateway.service import INPUT_STREAM
from orders.models import OrderSummary
from tests.browser import processed
from tests.serving import Answer, Site, serve, session_database_url, site_environment


def stored() -> tuple[int, int]:
    """What a refused request must not add to: (events in `shop-input`, idempotency records)."""
    return Event.objects.filter(stream_id=INPUT_STREAM).count(), IdempotencyRecord.objects.count()


def summary_once(order_id: str, **state: str) -> OrderSummary:
    """The order's summary once it is in `state`; beat's projector sweep runs meanwhile, as a
    PostgreSQL reader of the log may not see a commit at once."""
    found = OrderSummary.objects.filter(order_id=order_id, **state)
    return processed(found.first, what=f"order {order_id} {state}")


@contextmanager
def served_site(*, workers: int = 1, **settings: str) -> Iterator[Site]:
    """The site under gunicorn on the test database, with these settings; the gateway's part only:
    what it stores is not handed on to the components (the tests look at what was stored)."""
    env = site_environment(
        DATABASE_URL=session_database_url(),
        PARTNER_KEY_CACHE_SECONDS="0",
        CONSUMER_DELIVERY_ON_COMMIT="0",
        PROJECTIONS_ON_COMMIT="0",
        CONN_MAX_AGE="0",  # no connection outlives a request: the test database is emptied after each test
        **settings,
    )
    with serve(env, options=(f"--workers={workers}", "--access-logfile=-")) as site:
        yield site


def worker_pids(site: Site) -> set[int]:
    """The pids of the gunicorn master's children: its worker processes."""
    children = Path(f"/proc/{site.pid}/task/{site.pid}/children").read_text().split()
    return {int(pid) for pid in children}


def call(site: Site, method: str, path: str, *, headers: dict[str, str] | None = None, body: bytes = b"") -> Answer:
    """One request to the served site, as a browser or a partner sends it; redirects are answers."""
    connection_ = http.client.HTTPConnection("127.0.0.1", site.port, timeout=30)
    try:
        connection_.request(method, path, body=body or None, headers=headers or {})
        response = connection_.getresponse()
        return Answer(response.status, response.headers, response.read())
    finally:
        connection_.close()


@dataclass(frozen=True)
class RawAnswer:
    status: int
    head: str  # the status line and headers, as the server wrote them
    body: bytes


def raw_request(site: Site, method: str, path: str, *, body: bytes = b"", headers: dict[str, str]) -> RawAnswer:
    """One request on a socket of its own, `body` sent as it is while the answer is read.

    A server that refuses a large body answers before it has read it and closes the connection; a
    client that sends the whole body before reading (urllib does) then sees a broken pipe instead
    of the answer. Here a thread sends and the caller reads, so the answer is seen whenever it
    comes.
    """
    head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{site.port}\r\nConnection: close\r\n"
    head += "".join(f"{name}: {value}\r\n" for name, value in headers.items()) + "\r\n"
    with socket.create_connection(("127.0.0.1", site.port), timeout=30) as client:
        client.sendall(head.encode("latin-1"))

        def send_body() -> None:
            try:
                client.sendall(body)
            except (BrokenPipeError, ConnectionResetError):
                return  # the server closed the connection: it answered without taking the rest

        sender = threading.Thread(target=send_body, name="raw-request-body", daemon=True)
        sender.start()
        received = bytearray()
        try:
            while chunk := client.recv(65536):
                received += chunk
        except ConnectionResetError:
            if not received:
                raise  # reset before any answer: a failure of the test's, not the server's answer
            # else: the rest of the body we were still sending made the closed socket reset
        sender.join(timeout=30)
    status_and_headers, _, content = bytes(received).partition(b"\r\n\r\n")
    text = status_and_headers.decode("latin-1")
    return RawAnswer(int(text.split(" ", 2)[1]), text, content)
