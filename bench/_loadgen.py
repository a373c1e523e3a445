"""A small HTTP/1.1 load generator on asyncio: keep-alive connections, Content-Length bodies.

Two ways to load a server, both over a fixed number of connections to one host and port:

- `closed_loop`: each connection sends a request, waits for the answer, sends the next, until the
  time is up. Its rate is the server's maximum at that concurrency; its latency is per request.
- `open_loop`: requests are due at a fixed rate whatever the server does, and each one's latency
  runs from the moment it was due, not from when a connection was free to send it. A server that
  falls behind shows it in the latency, which a closed loop hides by sending less (coordinated
  omission).

Requests are bytes built by a callable (a unique body each time; `PartnerPosts` builds the site's
API posts); answers are read with a minimal parser (status line, Content-Length, Connection: close)
on asyncio's protocol callbacks, which cost less CPU than streams. A caller that needs each answer
(its body, to retry a refusal) passes `on_answer`. Chunked answers are not supported: Django's
CommonMiddleware sets Content-Length on every plain response.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from _harness import percentile

CONNECT_TIMEOUT = 5.0
ANSWER_TIMEOUT = 30.0  # an answer slower than this is a failure of the run, not a latency


class PartnerPosts:
    """The bytes of a partner's JSON posts to one path of the site: its API key, a body, maybe a key."""

    def __init__(self, host: str, port: int, key: str, path: str = "/shop/api/v1") -> None:
        self.head = (
            f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nAuthorization: Api-Key {key}\r\n"
            "Content-Type: application/json\r\n"
        ).encode()

    def request(self, body: bytes, *, idempotency_key: str | None = None) -> bytes:
        key = b"" if idempotency_key is None else b"Idempotency-Key: %s\r\n" % idempotency_key.encode()
        return b"%s%sContent-Length: %d\r\n\r\n%s" % (self.head, key, len(body), body)


#: Called with each request, its answer's status (None: no answer came), body, and its latency in seconds.
OnAnswer = Callable[[bytes, int | None, bytes, float], None]


@dataclass
class LoadResult:
    """What one run saw: answers by status, transport errors, latencies, and how long it took."""

    statuses: Counter[int] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)  # seconds, of 2xx answers
    seconds: float = 0.0  # from the first request to the last answer (connecting first is not timed)
    cpu_seconds: float = 0.0  # this process's CPU time meanwhile: the load generator's own cost

    @property
    def ok(self) -> int:
        return sum(n for status, n in self.statuses.items() if 200 <= status < 300)

    @property
    def failed(self) -> int:
        """Non-2xx answers and requests that got no answer."""
        return sum(self.statuses.values()) - self.ok + sum(self.errors.values())

    @property
    def rate(self) -> float:
        return self.ok / self.seconds if self.seconds else 0.0

    def percentile(self, fraction: float) -> float:
        """Latency at `fraction` (0.5, 0.99) of the 2xx answers, in seconds."""
        return percentile(self.latencies, fraction)

    def failures(self) -> str:
        """`none`, or what failed and how often."""
        bad = {f"HTTP {status}": n for status, n in sorted(self.statuses.items()) if not 200 <= status < 300}
        bad.update(self.errors)
        return ", ".join(f"{what} x{n}" for what, n in bad.items()) or "none"


class _NoAnswer(Exception):
    """Raised into a waiting request when no usable answer came; the message says why."""


class _Connection(asyncio.Protocol):
    """One keep-alive connection, one request at a time."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.waiter: asyncio.Future[tuple[int, bool, bytes]] | None = None
        self.open = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.open = True

    def connection_lost(self, exc: Exception | None) -> None:
        self.open = False
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(_NoAnswer("connection closed before the answer"))

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0 or self.waiter is None:
            return
        head = bytes(self.buffer[:end]).lower()
        start = head.find(b"\r\ncontent-length:")
        if start < 0:
            self.waiter.set_exception(_NoAnswer("answer without Content-Length"))
            self.transport.close()
            return
        line_end = head.find(b"\r\n", start + 2)
        length = int(head[start + 17 : line_end if line_end >= 0 else len(head)])
        if len(self.buffer) < end + 4 + length:
            return  # the rest of the body is still on its way
        body = bytes(self.buffer[end + 4 : end + 4 + length])
        del self.buffer[: end + 4 + length]
        status = int(head[9:12])
        keep_alive = b"\r\nconnection: close" not in head
        self.waiter.set_result((status, keep_alive, body))

    async def request(self, data: bytes) -> tuple[int, bool, bytes]:
        """Send `data`; the answer's status, whether the connection stays open, and its body."""
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(data)
        try:
            return await asyncio.wait_for(self.waiter, ANSWER_TIMEOUT)
        finally:
            self.waiter = None

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


class _Client:
    """A connection that reconnects when the server closed it; records each request in `result`."""

    def __init__(self, host: str, port: int, result: LoadResult, on_answer: OnAnswer | None = None) -> None:
        self.host, self.port, self.result, self.on_answer = host, port, result, on_answer
        self.connection: _Connection | None = None

    async def connect(self) -> None:
        loop = asyncio.get_running_loop()
        _, self.connection = await asyncio.wait_for(
            loop.create_connection(_Connection, self.host, self.port), CONNECT_TIMEOUT
        )

    async def send(self, data: bytes, since: float) -> None:
        """Send one request; its latency runs from `since` (a perf_counter time) to the answer."""
        try:
            if self.connection is None or not self.connection.open:
                await self.connect()
            status, keep_alive, body = await self.connection.request(data)
        except (OSError, TimeoutError, _NoAnswer) as error:
            self.result.errors[str(error) or type(error).__name__] += 1
            self.close()
            if self.on_answer is not None:
                self.on_answer(data, None, b"", time.perf_counter() - since)
            return
        seconds = time.perf_counter() - since
        if 200 <= status < 300:
            self.result.latencies.append(seconds)
        self.result.statuses[status] += 1
        if self.on_answer is not None:
            self.on_answer(data, status, body, seconds)
        if not keep_alive:
            self.close()

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None


async def _connected(
    host: str, port: int, count: int, result: LoadResult, on_answer: OnAnswer | None = None
) -> list[_Client]:
    """`count` clients, connected before the clock starts so connecting is not timed."""
    clients = [_Client(host, port, result, on_answer) for _ in range(count)]
    await asyncio.gather(*(client.connect() for client in clients))
    return clients


@contextmanager
def _clock(result: LoadResult) -> Iterator[None]:
    """Times the block into `result`: wall-clock seconds and this process's CPU seconds."""
    start, cpu = time.perf_counter(), time.process_time()
    yield
    result.seconds = time.perf_counter() - start
    result.cpu_seconds = time.process_time() - cpu


def closed_loop(
    host: str, port: int, make_request: Callable[[], bytes], *, connections: int, seconds: float
) -> LoadResult:
    """Each of `connections` sends its next request as soon as it has the answer, for `seconds`."""
    result = LoadResult()

    async def run() -> None:
        clients = await _connected(host, port, connections, result)
        deadline = time.perf_counter() + seconds

        async def keep_sending(client: _Client) -> None:
            while (now := time.perf_counter()) < deadline:
                await client.send(make_request(), now)
            client.close()

        with _clock(result):
            await asyncio.gather(*(keep_sending(client) for client in clients))

    asyncio.run(run())
    return result


def open_loop(
    host: str,
    port: int,
    make_request: Callable[[], bytes],
    *,
    rate: float,
    connections: int,
    seconds: float,
    on_answer: OnAnswer | None = None,
) -> LoadResult:
    """`rate` requests a second for `seconds`, each due at its time, sent on the first free connection.

    A request that finds every connection busy waits in a queue, and that wait is in its latency.
    `make_request` is called when a connection takes the request; `on_answer`, if given, with each
    answer (in the loop's thread: it must be quick).
    """
    result = LoadResult()

    async def run() -> None:
        clients = await _connected(host, port, connections, result, on_answer)
        due_times: asyncio.Queue[float | None] = asyncio.Queue()

        async def take_requests(client: _Client) -> None:
            while (due := await due_times.get()) is not None:
                await client.send(make_request(), due)
            client.close()

        with _clock(result):
            senders = [asyncio.create_task(take_requests(client)) for client in clients]
            start = time.perf_counter()
            for n in range(round(rate * seconds)):
                due = start + n / rate
                if (ahead := due - time.perf_counter()) > 0:
                    await asyncio.sleep(ahead)  # a timer to the next due time, not a guess
                due_times.put_nowait(due)
            for _ in senders:
                due_times.put_nowait(None)
            await asyncio.gather(*senders)

    asyncio.run(run())
    return result
