"""A Redis server of the test's own, on a free port of 127.0.0.1, to restart or stop at will.

    with redis_server() as redis_:
        env = site_environment(CELERY_BROKER_URL=redis_.url(11), ...)
        redis_.restart()   # no persistence: everything queued in it is gone
        redis_.stop()      # down until start()

The machine's own Redis (port 6379) is never touched; the server is stopped on exit.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

import redis

from tests.serving import free_port
from tests.waiting import wait_until


class RedisServer:
    """One `redis-server` process with no persistence, on `port`, in `directory`."""

    def __init__(self, port: int, directory: str) -> None:
        self.port = port
        self.directory = directory
        self._process: subprocess.Popen | None = None

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self) -> None:
        assert not self.running, "this Redis is already running"
        command = [
            shutil.which("redis-server") or "redis-server",
            "--bind", "127.0.0.1", "--port", str(self.port), "--save", "", "--appendonly", "no",
            "--dir", self.directory, "--logfile", "",
        ]  # fmt: skip
        self._process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        client = redis.Redis(port=self.port, socket_connect_timeout=0.5)

        def answers() -> bool | None:
            if self._process.poll() is not None:
                raise AssertionError(f"redis-server exited with {self._process.returncode} on port {self.port}")
            try:
                return client.ping() or None
            except redis.ConnectionError:
                return None

        wait_until(answers, timeout=20, what=f"Redis on port {self.port}")

    def stop(self) -> None:
        """Gone at once, as a crash: SIGKILL, so nothing is saved and every connection drops."""
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.wait(timeout=10)
        self._process = None

    def restart(self) -> None:
        """A restart with no persistence: every queued message and cached key is lost."""
        self.stop()
        self.start()


@contextmanager
def redis_server() -> Iterator[RedisServer]:
    """A fresh Redis on a free port for the length of the block."""
    with tempfile.TemporaryDirectory(prefix="redis-") as directory:
        server = RedisServer(free_port(), directory)
        server.start()
        try:
            yield server
        finally:
            server.stop()
