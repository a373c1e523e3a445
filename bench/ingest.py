"""Ingest under load: POST /shop/api/v1 on gunicorn and PostgreSQL against a one-INSERT Django view.

The site runs under gunicorn (`shopsite.wsgi:application`, settings `bench/_ingest_site.py`) on a
scratch PostgreSQL database migrated like production, with the rate limit counted in Redis
(CACHE_URL=redis://127.0.0.1:6379/1), no Celery broker and no delivery to the consumer groups
(CONSUMER_DELIVERY_ON_COMMIT=0): the gateway's own work, as issue 3 asks. (With a broker, a post
also asks for a drain of its partition in each group it matches, at most every 0.2 s per partition
and web process: about 1 ms of CPU per request, so at most 40 a second per process for two groups
of 4 partitions.) It is started and stopped by the test suite's launcher (`tests.serving.serve`),
on a free port of 127.0.0.1, also stopped when a run fails.

Two targets on the same gunicorn, with the same request bytes but for the path (a 144-byte JSON
order with a unique order_id, an `Authorization: Api-Key` header, `Content-Type: application/json`):

- gateway:  `POST /shop/api/v1` as a partner allowed the source `web`, at a rate limit so high that
            no request is refused. Each 202 stores a ShopDataReceived event in `shop-input`.
- baseline: `POST /bench/baseline`, a plain Django view that INSERTs the raw body into a table with
            a jsonb column and answers 202: the least any ingest endpoint does on this stack.

a. Maximum rate: 32 keep-alive connections, each sending its next request when it has the answer
   (closed loop), for 10 s per run. Requests/s and p50/p99 latency. Goal: gateway/baseline
   requests/s >= 0.7.
b. Latency at a fixed arrival rate of half the gateway's maximum from (a), for 10 s per run (open
   loop: latency counted from when each request was due, so a server that falls behind cannot hide
   it by slowing the client down). Both targets at the same rate. Goal: gateway p99 <= 50 ms.

Runs alternate baseline, gateway, three times each after a short warm-up, and each figure is the
median of the three, so machine noise falls on both alike. Beside requests/s and latency, each line
shows the server's CPU time per answer (gunicorn's workers and the database's backends, from
/proc), which other work on the machine moves much less than requests/s. The load generator
(bench/_loadgen.py, asyncio on raw sockets) runs in this process, beside gunicorn's, and its CPU
share is reported.
Every answer must be a 2xx, and the bench checks that `shop-input` holds exactly one event per 202
of the gateway (and the baseline table one row per 202 of the baseline); it exits with status 1
when either check fails.

Worker setup: 4 gthread workers of one thread each (two per core, as gunicorn advises; gthread
rather than sync for keep-alive), for 2 cores shared with PostgreSQL, Redis and the load generator
(other setups: --gunicorn). Gateway / baseline req/s in --quick runs (of 3 s then) on this project's
2-core machine (2026-11-26; a slower machine than the first figures below), with the rate taken in leases:

    --workers 4 --worker-class gthread --threads 1    435 / 574   (0.76)
    --workers 6 --worker-class gthread --threads 1    411 / 556   (0.74)
    --workers 4 --worker-class gthread --threads 2    390 / 562   (0.69)

A second thread in a worker costs the gateway more than the baseline: the threads share one GIL,
and the gateway holds it longer per request. On the first machine, before the leases (one INCR per
post), the same setups gave 935 / 1,400, 990 / 1,590 and 820 / 1,370; before the key cache, the
one-INCR count and the one-statement ANY append, the gateway made 190 to 330 req/s against the same
baselines (ratio 0.2 to 0.3).
"""

from __future__ import annotations

import argparse
import itertools
import os
import shlex
import sys
from collections.abc import Callable
from contextlib import AbstractContextManager, closing
from dataclasses import dataclass
from urllib.parse import urlsplit

import _harness as harness
import _loadgen
import psycopg
import redis

from tests.serving import Site

HOST = harness.HOST
CLIENTS = 32
RUNS = 3
GUNICORN_OPTIONS = "--workers 4 --worker-class gthread --threads 1"
CACHE_URL = "redis://127.0.0.1:6379/1"
P99_GOAL_MS = 50.0
RATIO_GOAL = 0.7
BODY = (
    '{"applies":"order","source":"web","profile":"customer","order_id":"%s",'
    '"lines":[{"sku":"TEE-RED-M","quantity":1,"unit_price":"19.90"}]}'
)


@dataclass(frozen=True)
class Sizes:
    seconds: float  # per timed run
    warm_up: float  # per target, before the timed runs


FULL = Sizes(seconds=10.0, warm_up=2.0)
QUICK = Sizes(seconds=1.5, warm_up=0.5)  # a smoke test: bench-quick runs every bench in 4 minutes


def add_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--gunicorn", default=GUNICORN_OPTIONS, help="gunicorn's worker options (default: %(default)s)")


# --- the server --------------------------------------------------------------------------------


def check_redis() -> None:
    try:
        redis.Redis.from_url(CACHE_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as error:
        raise harness.BenchmarkCannotRun(f"no Redis at {CACHE_URL}: {error}") from error


def site(database_url: str, options: str) -> AbstractContextManager[Site]:
    """gunicorn serving the site with the bench settings."""
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "SECRET_KEY": "benchmark-only-not-secret",
        "DJANGO_SETTINGS_MODULE": "_ingest_site",
        "CACHE_URL": CACHE_URL,
        "PYTHONPATH": os.pathsep.join([str(harness.PROJECT_DIR / "bench"), str(harness.PROJECT_DIR)]),
        # The gateway alone: with no broker the components, and the projectors of the message's
        # outcome, would handle each post in the web process (bench/pipeline.py measures them).
        "CONSUMER_DELIVERY_ON_COMMIT": "0",
        "PROJECTIONS_ON_COMMIT": "0",
    }
    for name in ("CELERY_BROKER_URL", "DEBUG"):
        env.pop(name, None)  # tasks in-process, DEBUG off: as the bench intends, whatever the shell has
    return harness.gunicorn(env, shlex.split(options))


# --- server CPU --------------------------------------------------------------------------------


class ServerCPU:
    """CPU seconds used so far by gunicorn's workers and the scratch database's PostgreSQL backends.

    Read from /proc, so a server's cost per request shows even when other work on the machine
    moves its requests/s. The backends count only when PostgreSQL runs on this machine.
    """

    def __init__(self, server: Site, database_url: str) -> None:
        self.master = server.pid
        self.database = psycopg.connect(database_url, autocommit=True)
        self.database_is_local = urlsplit(database_url).hostname in ("127.0.0.1", "localhost", "::1")

    def pids(self) -> list[int]:
        backends: list[int] = []
        if self.database_is_local:
            backends = [
                pid
                for (pid,) in self.database.execute(
                    "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            ]
        return harness.children(self.master) + backends

    def used(self) -> dict[int, float]:
        """CPU seconds (user and system) of each process so far."""
        return harness.cpu_seconds(self.pids())

    def close(self) -> None:
        self.database.close()


# --- load --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    load: _loadgen.LoadResult
    server_cpu_seconds: float

    @property
    def cpu_per_request(self) -> float:
        return self.server_cpu_seconds / self.load.ok if self.load.ok else float("nan")


class Target:
    """A path to post to, with request bytes built for it and every run against it."""

    _numbers = itertools.count()  # order ids unique across targets and runs

    def __init__(self, name: str, path: str, server: Site, key: str, server_cpu: ServerCPU) -> None:
        self.name = name
        self.port = server.port
        self.server_cpu = server_cpu
        self.posts = _loadgen.PartnerPosts(HOST, server.port, key, path)
        self.runs: list[Run] = []  # warm-ups included

    def request(self) -> bytes:
        return self.posts.request((BODY % f"bench-{next(self._numbers)}").encode())

    def closed_loop(self, seconds: float) -> Run:
        return self._measured(
            lambda: _loadgen.closed_loop(HOST, self.port, self.request, connections=CLIENTS, seconds=seconds)
        )

    def open_loop(self, rate: float, seconds: float) -> Run:
        return self._measured(
            lambda: _loadgen.open_loop(HOST, self.port, self.request, rate=rate, connections=CLIENTS, seconds=seconds)
        )

    def _measured(self, load: Callable[[], _loadgen.LoadResult]) -> Run:
        before = self.server_cpu.used()
        result = load()
        after = self.server_cpu.used()
        run = Run(result, sum(cpu - before.get(pid, 0.0) for pid, cpu in after.items()))
        self.runs.append(run)
        return run

    def answered_202(self) -> int:
        return sum(run.load.statuses[202] for run in self.runs)


def alternate(targets: list[Target], measure: Callable[[Target], Run], what: str) -> dict[str, list[Run]]:
    """RUNS rounds of `measure` on each target in turn; each target's runs."""
    runs: dict[str, list[Run]] = {target.name: [] for target in targets}
    with harness.progress(what, RUNS * len(targets), unit="run") as bar:
        for _ in range(RUNS):
            for target in targets:
                bar.set_postfix_str(target.name)
                runs[target.name].append(measure(target))
                bar.update()
    return runs


def median_rate(runs: list[Run]) -> float:
    return harness.median([run.load.rate for run in runs])


def median_ms(runs: list[Run], fraction: float) -> float:
    return harness.median([run.load.percentile(fraction) for run in runs]) * 1000


def figures(runs: list[Run]) -> str:
    """Medians of req/s, p50, p99 and server CPU per request; then each run's req/s, p50 and p99."""
    cpu = harness.median([run.cpu_per_request for run in runs]) * 1000
    each = ", ".join(
        f"{r.load.rate:,.0f}/{r.load.percentile(0.5) * 1000:.1f}/{r.load.percentile(0.99) * 1000:.1f}" for r in runs
    )
    return (
        f"{median_rate(runs):>6,.0f} req/s  p50 {median_ms(runs, 0.5):5.1f} ms"
        f"  p99 {median_ms(runs, 0.99):5.1f} ms  server CPU {cpu:4.1f} ms/req   (runs: {each})"
    )


# --- checks ------------------------------------------------------------------------------------


def count_rows(url: str) -> tuple[int, int]:
    """(ShopDataReceived events in shop-input, rows in the baseline table)."""
    from _ingest_site import BASELINE_TABLE

    with psycopg.connect(url) as conn:
        events = conn.execute(
            "SELECT count(*) FROM eventstore_event WHERE stream_id = 'shop-input' AND event_type = 'ShopDataReceived'"
        ).fetchone()[0]
        rows = conn.execute(f"SELECT count(*) FROM {BASELINE_TABLE}").fetchone()[0]
    return events, rows


def main(args: argparse.Namespace) -> harness.Ratio:
    sizes = QUICK if args.quick else FULL
    check_redis()
    with harness.scratch_django("shop_bench_ingest") as url:
        from _ingest_site import BASELINE_DDL, BASELINE_PATH

        key = harness.create_partner("bench", sources="web")
        with psycopg.connect(url) as conn:
            conn.execute(BASELINE_DDL)
        with site(url, args.gunicorn) as server, closing(ServerCPU(server, url)) as server_cpu:
            baseline = Target("baseline", f"/{BASELINE_PATH}", server, key, server_cpu)
            gateway = Target("gateway", "/shop/api/v1", server, key, server_cpu)
            targets = [baseline, gateway]
            for target in targets:  # connections, plans, the first request's imports
                target.closed_loop(sizes.warm_up)
            closed = alternate(targets, lambda t: t.closed_loop(sizes.seconds), "closed loop")
            rate = median_rate(closed["gateway"]) / 2
            opened = alternate(targets, lambda t: t.open_loop(rate, sizes.seconds), f"open loop at {rate:,.0f}/s")
            if any(run.load.failed for target in targets for run in target.runs):
                print(f"Some requests failed; the end of gunicorn's log:\n{server.log_tail()}", file=sys.stderr)
        events, rows = count_rows(url)

    print(f"gunicorn {args.gunicorn}; {CLIENTS} connections; {RUNS} runs of {sizes.seconds:g} s each, alternating")
    print("a. closed loop: each connection sends when answered (medians; runs: req/s/p50/p99)")
    harness.print_rows([(name, figures(runs)) for name, runs in closed.items()])
    print(f"b. open loop at {rate:,.0f} req/s, half the gateway's maximum; latency from when each request was due")
    harness.print_rows([(name, figures(runs)) for name, runs in opened.items()])

    every = [run.load for target in targets for run in target.runs]
    failures = [f"{t.name}: {run.load.failures()}" for t in targets for run in t.runs if run.load.failed]
    stored_ok = events == gateway.answered_202() and rows == baseline.answered_202()
    busiest = max(result.cpu_seconds / result.seconds for result in every)
    print(f"   load generator: at most {busiest:.0%} of one core in a run")
    print(f"   non-2xx answers and failed requests: {'; '.join(failures) or 'none'}")
    print(
        f"   shop-input holds {events:,} events for {gateway.answered_202():,} gateway 202s, the baseline table"
        f" {rows:,} rows for {baseline.answered_202():,} baseline 202s: " + ("equal" if stored_ok else "** MISMATCH **")
    )
    ratio = median_rate(closed["gateway"]) / median_rate(closed["baseline"])
    p99 = median_ms(opened["gateway"], 0.99)
    return harness.Ratio(
        f"ratio gateway/baseline req/s = {ratio:.2f} ({harness.goal(ratio >= RATIO_GOAL, f'>= {RATIO_GOAL}')});"
        f" open-loop gateway p99 = {p99:.1f} ms ({harness.goal(p99 <= P99_GOAL_MS, f'<= {P99_GOAL_MS:.0f} ms')})",
        failed=bool(failures) or not stored_ok,
    )


if __name__ == "__main__":
    harness.run(main, description=__doc__, options=add_options)
