"""Celery worker and beat processes for tests: started with the site's environment, always stopped.

with celery_worker(env, "w1") as worker:
    ...
    worker.kill()     # SIGKILL, the whole worker (its pool's children too)
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parent.parent


def queues() -> list[str]:
    """The queues a worker started without -Q serves: every installed component's, and the base ones."""
    from eventstore import components

    return list(components.queues())


def _celery() -> list[str]:
    script = Path(sys.executable).with_name("celery")
    return [str(script)] if script.exists() else [sys.executable, "-m", "celery"]


@dataclass
class Process:
    name: str
    popen: subprocess.Popen
    log: IO[str]

    def kill(self) -> None:
        """SIGKILL to the process and its children (its own process group), as a machine that dies."""
        if self.popen.poll() is None:
            os.killpg(self.popen.pid, signal.SIGKILL)
        self.popen.wait(timeout=10)

    def log_tail(self, size: int = 6000) -> str:
        self.log.seek(0)
        return self.log.read()[-size:]


@contextmanager
def _process(name: str, args: list[str], env: dict[str, str]) -> Iterator[Process]:
    with tempfile.TemporaryFile(mode="w+", prefix=f"{name}-") as log:
        popen = subprocess.Popen(
            [*_celery(), "-A", "shopsite", *args],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        process = Process(name, popen, log)
        failed = False
        try:
            yield process
        except BaseException:
            failed = True
            raise
        finally:
            if popen.poll() is None:
                popen.terminate()  # a warm shutdown: the task in hand finishes
                try:
                    popen.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    process.kill()
            if failed:
                sys.stderr.write(f"--- {name} log ---\n{process.log_tail()}\n--- end ---\n")


@contextmanager
def celery_worker(
    env: dict[str, str], name: str, *, concurrency: int = 1, loglevel: str = "WARNING"
) -> Iterator[Process]:
    """A worker serving every queue (no -Q: those it finds from the installed components), with
    `concurrency` pool processes (INFO logs each task received)."""
    args = ["worker", f"--loglevel={loglevel}", f"--concurrency={concurrency}", "-n", f"{name}@%h"]
    with _process(name, [*args, "--without-gossip", "--without-mingle", "--without-heartbeat"], env) as worker:
        yield worker


@contextmanager
def celery_beat(env: dict[str, str]) -> Iterator[Process]:
    with tempfile.TemporaryDirectory(prefix="beat-") as directory:
        args = ["beat", "--loglevel=WARNING", f"--schedule={Path(directory) / 'schedule'}"]
        with _process("beat", args, env) as beat:
            yield beat
