"""The site as it runs in production, for tests: gunicorn in a subprocess, and a TCP proxy to cut it off.

    with TcpProxy("127.0.0.1", 5432) as proxy, serve(site_environment(DATABASE_URL=...)) as site:
        answer = http("POST", f"{site.url}/shop/api/v1", json_body={...}, headers={...})
        proxy.stop()    # the database is gone: no new connections, the open ones cut
        proxy.start()   # and back, on the same port

Everything started here is stopped on exit, also when the test fails.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import Message
from pathlib import Path
from typing import IO, Any

from tests.waiting import wait_until

ROOT = Path(__file__).resolve().parent.parent
GRACEFUL_TIMEOUT = 3  # seconds gunicorn gives a request in flight when told to stop


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on (the kernel's choice, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def site_environment(**settings: str) -> dict[str, str]:
    """The environment of a site process: these settings and nothing inherited but PATH.

    Tests reach the site over plain http, so the HTTPS-only defaults of DEBUG off are turned off, and
    do not run collectstatic, so static files keep their names (no manifest)."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "DJANGO_SETTINGS_MODULE": "shopsite.settings",
        "SECRET_KEY": "test-only-not-secret",
        "PYTHONUNBUFFERED": "1",
        "SECURE_SSL_REDIRECT": "0",
        "SESSION_COOKIE_SECURE": "0",
        "CSRF_COOKIE_SECURE": "0",
        "STATIC_MANIFEST": "0",
        **settings,
    }


def session_database_url(*, port: int | None = None) -> str:
    """DATABASE_URL of the test session's database, for processes the test starts (PostgreSQL: on
    127.0.0.1, at `port` when given, e.g. a TcpProxy's; SQLite: the file)."""
    from urllib.parse import quote

    from django.db import connection

    database = connection.settings_dict
    if database["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{Path(database['NAME']).resolve()}"
    credentials = quote(database["USER"], safe="")
    if database["PASSWORD"]:
        credentials += ":" + quote(database["PASSWORD"], safe="")
    return f"postgres://{credentials}@127.0.0.1:{port or database['PORT'] or 5432}/{quote(database['NAME'], safe='')}"


PRODUCTION_ENV_EXAMPLE = ROOT / "deploy" / "production.env.example"


def production_environment(**settings: str) -> dict[str, str]:
    """The production environment, as `deploy/production.env.example` writes it down (its empty
    SECRET_KEY filled with a fresh one), with these settings on top, and PATH."""
    from django.core.management.utils import get_random_secret_key

    written = {}
    for line in PRODUCTION_ENV_EXAMPLE.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            written[name.strip()] = value.strip()
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        **written,
        "SECRET_KEY": written.get("SECRET_KEY") or get_random_secret_key(),
        **settings,
    }


def manage(*args: str, env: dict[str, str], timeout: float = 120) -> str:
    """Run `manage.py` with `args` in `env`; its standard output, or AssertionError with its output."""
    result = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )
    assert result.returncode == 0, f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


@dataclass(frozen=True)
class Answer:
    status: int
    headers: Message
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def http(
    method: str, url: str, *, json_body: Any = None, headers: dict[str, str] | None = None, timeout: float = 10
) -> Answer:
    """One HTTP request; any status is an answer (urllib raises on 4xx and 5xx, this does not)."""
    data = None if json_body is None else json.dumps(json_body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers=dict(headers or {}))
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return Answer(response.status, response.headers, response.read())
    except urllib.error.HTTPError as error:
        with error:
            return Answer(error.code, error.headers, error.read())


def _gunicorn() -> list[str]:
    script = Path(sys.executable).with_name("gunicorn")
    return [str(script)] if script.exists() else [sys.executable, "-m", "gunicorn"]


@dataclass(frozen=True)
class Site:
    """A running gunicorn: where it answers, its master's pid (the workers are its children)."""

    url: str
    port: int
    pid: int
    log: IO[str]  # what gunicorn and the site wrote

    def log_tail(self, size: int = 4000) -> str:
        self.log.seek(0)
        return self.log.read()[-size:]


@contextmanager
def serve(
    env: dict[str, str],
    *,
    options: Sequence[str] = ("--workers=1", "--access-logfile=-"),
    ready_path: str = "/api/schema/",
    timeout: float = 30,
) -> Iterator[Site]:
    """Run the site under gunicorn with exactly `env` and these worker `options`; yields the Site.

    gunicorn takes over a listening socket opened here on a free port of 127.0.0.1, so no other
    process can take the port in between. Ready once `ready_path` answers 200, within `timeout`
    seconds. On exit gunicorn is told to stop (SIGTERM) and waited for; if it does not stop in
    time, its whole process group is killed. When the block fails, the server's log goes to stderr.
    """
    with tempfile.TemporaryFile(mode="w+", prefix="gunicorn-") as log:
        with socket.create_server(("127.0.0.1", 0)) as listener:  # gunicorn keeps its own copy
            port = listener.getsockname()[1]
            command = [
                *_gunicorn(),
                "shopsite.wsgi:application",
                f"--bind=fd://{listener.fileno()}",
                *options,
                f"--graceful-timeout={GRACEFUL_TIMEOUT}",
                "--timeout=30",
            ]
            process = subprocess.Popen(
                command,
                cwd=ROOT,
                env=env,
                pass_fds=[listener.fileno()],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        site = Site(f"http://127.0.0.1:{port}", port, process.pid, log)
        failed = False
        try:

            def ready() -> bool | None:
                if process.poll() is not None:
                    raise AssertionError(f"gunicorn exited with {process.returncode} before it was ready.")
                try:
                    return http("GET", site.url + ready_path, timeout=2).status == 200 or None
                except OSError:
                    return None  # not listening yet

            wait_until(ready, timeout=timeout, what=f"gunicorn to answer {ready_path}")
            yield site
        except BaseException:
            failed = True
            raise
        finally:
            _stop(process)
            if failed:
                sys.stderr.write(f"--- gunicorn log ({' '.join(command)}) ---\n{site.log_tail(100_000)}\n--- end ---\n")


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
    try:
        process.wait(timeout=GRACEFUL_TIMEOUT + 10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)  # the group is gunicorn's own: start_new_session
        process.wait(timeout=10)


class TcpProxy:
    """Forwards 127.0.0.1:`port` to `target`, in a thread of its own, until stopped.

    `stop()` closes the listener and cuts every open connection, as a database that goes away
    does; `start()` listens again on the same port. With `cut_on`, the proxy does the same by
    itself the moment a client sends bytes containing it (before forwarding them), which cuts
    a connection in the middle of a transaction.
    """

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = 0  # the kernel's choice at the first start, the same one after
        self.cut_on: bytes | None = None
        self.cuts = 0  # how many times `cut_on` has cut
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="tcp-proxy", daemon=True)
        self._thread.start()

    def __enter__(self) -> TcpProxy:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def start(self) -> None:
        self._run(self._listen())

    def stop(self) -> None:
        self._run(self._cut())

    def close(self) -> None:
        """Stop, end every task and the thread."""
        try:
            self._run(self._shut_down())
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
            self._loop.close()

    def _run(self, coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout=10)

    async def _listen(self) -> None:
        if self._server is None:
            self._server = await asyncio.start_server(self._forward, "127.0.0.1", self.port, reuse_address=True)
            self.port = self._server.sockets[0].getsockname()[1]

    async def _cut(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for writer in list(self._writers):
            writer.transport.abort()  # at once, with a reset: nothing more goes either way
        self._writers.clear()

    async def _shut_down(self) -> None:
        await self._cut()
        tasks = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _forward(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        self._writers.add(client_writer)
        try:
            server_reader, server_writer = await asyncio.open_connection(*self.target)
        except OSError:
            client_writer.transport.abort()
            self._writers.discard(client_writer)
            return
        self._writers.add(server_writer)
        await asyncio.gather(
            self._pipe(client_reader, server_writer, watch=True), self._pipe(server_reader, client_writer)
        )
        self._writers.difference_update((client_writer, server_writer))

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, watch: bool = False) -> None:
        try:
            while chunk := await reader.read(65536):
                if watch and self.cut_on is not None and self.cut_on in chunk:
                    self.cut_on = None
                    self.cuts += 1
                    await self._cut()
                    return
                writer.write(chunk)
                await writer.drain()
        except OSError:
            pass  # the other side went away, or we cut it
        finally:
            writer.close()
