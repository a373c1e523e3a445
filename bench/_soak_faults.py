"""The soak's faults (bench/soak.py), one every so many seconds of the load, the kinds in turn, and
the memory of every process it watches: at the start, and at the end (or when it was killed).

A whole Celery worker SIGKILLed, with its pool, and a new one started in its place; Redis
restarted with nothing kept; every connection to the soak's database terminated but those it
spares (the soak's own observer). Each is printed as it happens.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass

import _harness as harness
import psycopg

from tests.services import RedisServer
from tests.serving import Site
from tests.workers import Process

FAULTS = ("worker killed", "Redis restarted", "database connections terminated")
WORKER_KILLED = FAULTS[0]
#: The faults by the short names `--faults` takes.
BY_NAME = dict(zip(("kill", "redis", "database"), FAULTS, strict=True))
MIB = 1024 * 1024


class Memory:
    """RSS of each process at start and at end, by label, in the order first seen."""

    def __init__(self) -> None:
        self.rows: dict[str, list] = {}

    def start(self, label: str, value: int) -> None:
        self.rows.setdefault(label, [None, None, ""])[0] = value

    def end(self, label: str, value: int, note: str = "") -> None:
        row = self.rows.setdefault(label, [None, None, ""])
        row[1], row[2] = value, note

    def sample(
        self, site: Site, workers: list[harness.Worker], beat: Process, record: Callable[[str, int], None]
    ) -> None:
        """Every gunicorn worker, every live Celery worker (main process and pool) and beat."""
        for pid in harness.children(site.pid):
            record(f"gunicorn worker (pid {pid})", harness.rss([pid]))
        for worker in workers:
            if worker.alive:
                record(worker.label(), harness.rss(harness.group_pids(worker.pid)))
        record(f"celery beat (pid {beat.popen.pid})", harness.rss(harness.group_pids(beat.popen.pid)))

    def table(self) -> list[tuple[str, str]]:
        """Rows for `harness.print_rows`: a process, its MiB at start and at end, and a note."""
        rows = [("process", "start MiB  end MiB")]
        for label, (start, end, note) in self.rows.items():
            shown = [f"{v / MIB:9.1f}" if v is not None else "        -" for v in (start, end)]
            rows.append((label, f"{shown[0]}  {shown[1]}  {note}"))
        return rows


@dataclass
class Fault:
    offset: float  # seconds after the load started
    kind: str
    what: str


class Faults(threading.Thread):
    """One fault every `every` seconds of the load, the kinds in turn."""

    def __init__(
        self,
        *,
        stack: ExitStack,
        env: dict[str, str],
        workers: list[harness.Worker],
        redis_: RedisServer,
        database: str,
        spare: list[int],
        memory: Memory,
        every: float,
        seconds: float,
        kinds: tuple[str, ...] = FAULTS,
    ) -> None:
        super().__init__(name="soak-faults", daemon=True)
        self.stack, self.env, self.workers, self.redis = stack, env, workers, redis_
        self.database, self.spare, self.memory = database, spare, memory
        self.every, self.seconds, self.kinds = every, seconds, kinds
        self.done: list[Fault] = []
        self.numbers = itertools.count(len(workers))
        self.stopping = threading.Event()
        self.error: BaseException | None = None
        self.started = 0.0

    def run(self) -> None:
        self.started = time.monotonic()
        try:
            for n in itertools.count(1):
                if n * self.every >= self.seconds or self.stopping.wait(
                    self.started + n * self.every - time.monotonic()
                ):
                    return
                kind = self.kinds[(n - 1) % len(self.kinds)]
                offset = time.monotonic() - self.started
                what = {FAULTS[0]: self.kill_worker, FAULTS[1]: self.restart_redis, FAULTS[2]: self.terminate}[kind]()
                self.done.append(Fault(offset, kind, what))
                harness.note(f"   fault at {offset:6.1f} s: {kind}: {what}")
        except BaseException as error:
            self.error = error  # raised again in the main thread by `stop`
            raise

    def stop(self) -> None:
        self.stopping.set()
        self.join(timeout=120)
        if self.error is not None:
            raise RuntimeError("a fault could not be injected") from self.error

    def kill_worker(self) -> str:
        """SIGKILL to the longest-running worker's whole process group; a new worker in its place."""
        victim = next(w for w in self.workers if w.alive)
        label, pids = victim.label(), harness.group_pids(victim.pid)
        at = time.monotonic() - self.started
        self.memory.end(label, harness.rss(pids), note=f"SIGKILLed at {at:.0f} s")
        victim.process.kill()
        replacement = harness.start_worker(self.stack, self.env, f"w{next(self.numbers)}")
        self.workers.append(replacement)
        # Its memory "at start" once its pool is up and has taken some work, as the others' after
        # the warm-up; within the interval, so the next fault comes on time.
        deadline = time.monotonic() + self.every * 0.8
        while len(harness.group_pids(replacement.pid)) <= harness.WORKER_CONCURRENCY and time.monotonic() < deadline:
            self.stopping.wait(0.2)
        self.stopping.wait(max(0.0, min(3.0, deadline - time.monotonic())))
        self.memory.start(replacement.label(), harness.rss(harness.group_pids(replacement.pid)))
        return f"{victim.name} (pid {victim.pid}, {len(pids)} processes) SIGKILLed; {replacement.name} started"

    def restart_redis(self) -> str:
        start = time.perf_counter()
        self.redis.restart()
        return f"port {self.redis.port}, answering again after {time.perf_counter() - start:.2f} s, empty"

    def terminate(self) -> str:
        """pg_terminate_backend of every connection to the soak's database but the observer's."""
        with psycopg.connect(harness.database_url("postgres"), autocommit=True) as conn:
            # Materialized first: in one WHERE, PostgreSQL may call pg_terminate_backend on rows
            # before the other conditions have ruled them out (other databases', its own).
            (count,) = conn.execute(
                "WITH victims AS MATERIALIZED (SELECT pid FROM pg_stat_activity WHERE datname = %s"
                " AND pid <> ALL(%s) AND pid <> pg_backend_pid())"
                " SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM victims",
                [self.database, self.spare],
            ).fetchone()
        return f"{count} backends terminated"
