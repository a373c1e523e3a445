"""What every benchmark runs in, so that a bench file holds only its workload and its baseline.

A bench is a `main(args) -> Ratio` handed to `run`: `run` parses the arguments (`--quick` and the
bench's own), and prints the ratio against the run's own baseline as the last line, a line that
`RATIO_LINE` matches (`make bench-quick` checks it: bench/_quick.py). Each bench
runs on a database of its own, created fresh and dropped at the end, on the server named by
DATABASE_URL (`make bench` sets it) or the local one, so benches never see each other's rows nor
those of the test suite. Here too: gunicorn and Celery as the benches start them, what /proc says
of their processes, timing, percentiles, progress bars and the figures' tables.

Importing this module puts the project on `sys.path`: a script run as `python bench/x.py` has only
`bench/` there, and needs `eventstore`, `shopsite` and `tests`.
"""

from __future__ import annotations

import argparse
import io
import os
import re
import statistics
import sys
import time
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql
from tqdm import tqdm

DEFAULT_SERVER_URL = "postgres://postgres@127.0.0.1:5432/postgres"
PROJECT_DIR = Path(__file__).resolve().parent.parent
if str(PROJECT_DIR) not in sys.path:
    sys.path.insert(0, str(PROJECT_DIR))

if TYPE_CHECKING:
    from django.test import Client

    from tests.serving import Site
    from tests.workers import Process

HOST = "127.0.0.1"
WORKER_CONCURRENCY = 2  # pool processes per Celery worker, the Procfile's default (WORKER_CONCURRENCY)


# --- running a bench -------------------------------------------------------------------------------


class BenchmarkCannotRun(Exception):
    """The benchmark has no server to run on; `run` turns it into exit status 2."""


# The last line of every bench: `ratio <what> = <number>...`, the number finite (a nan or an inf
# means nothing was measured). `run` refuses any other; bench/_quick.py checks each bench's output.
RATIO_LINE = re.compile(r"ratio \S.*? = \d[\d,]*(\.\d+)?\b")


def is_ratio_line(line: str) -> bool:
    """Whether `line` is a ratio line, as every bench prints last."""
    return RATIO_LINE.match(line) is not None


@dataclass(frozen=True)
class Ratio:
    """What a bench's `main` returns: its last line, the ratio against the run's own baseline."""

    line: str
    failed: bool = False  # the run saw something wrong (a lost event, an error answer): exit status 1


def run(
    main: Callable[[argparse.Namespace], Ratio],
    *,
    description: str,
    options: Callable[[argparse.ArgumentParser], None] | None = None,
    quick: str = "a shorter run, for a smoke test",
) -> None:
    """Parse `--quick` and the bench's own `options`, run `main`, print its ratio last."""
    parser = argparse.ArgumentParser(description=description.strip().splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=quick)
    if options is not None:
        options(parser)
    args = parser.parse_args()
    try:
        ratio = main(args)
    except BenchmarkCannotRun as error:
        print(f"benchmark cannot run: {error}", file=sys.stderr)
        sys.exit(2)
    print(ratio.line)
    if not is_ratio_line(ratio.line):
        sys.exit(f"the last line is not a ratio line (`ratio <what> = <number>...`): {ratio.line!r}")
    if ratio.failed:
        sys.exit(1)


def goal(met: bool, target: str) -> str:
    """`goal >= 0.7, met`: a missed goal is reported clearly but is not a failure to run."""
    return f"goal {target}, {'met' if met else '** GOAL MISSED **'}"


# --- the scratch database --------------------------------------------------------------------------


def _server_url() -> str:
    """DATABASE_URL when it names PostgreSQL (its server is used, not its database), else the local one."""
    url = os.environ.get("DATABASE_URL", "")
    return url if url.startswith(("postgres://", "postgresql://")) else DEFAULT_SERVER_URL


def database_url(name: str) -> str:
    """The URL of database `name` on the benchmark server."""
    parts = urlsplit(_server_url())
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, ""))


def _maintenance_connection() -> psycopg.Connection:
    try:
        # CREATE and DROP DATABASE cannot run inside a transaction block.
        return psycopg.connect(database_url("postgres"), autocommit=True)
    except psycopg.OperationalError as error:
        raise BenchmarkCannotRun(f"no PostgreSQL server at {database_url('postgres')}: {error}") from error


def _drop_database(name: str) -> None:
    with _maintenance_connection() as conn:
        # FORCE ends sessions a crashed earlier run may have left behind.
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@contextmanager
def scratch_django(name: str) -> Iterator[str]:
    """A fresh database `name`, migrated, with Django set up on it; dropped on the way out.

    Yields the database URL, for worker processes to set themselves up with `setup_django`.
    """
    _drop_database(name)
    with _maintenance_connection() as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = database_url(name)
    try:
        setup_django(url)
        _check_nothing_reacts()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        yield url
    finally:
        from django.db import connections

        connections.close_all()
        _drop_database(name)


def setup_django(url: str) -> None:
    """Set Django up on database `url` (also called by each worker process)."""
    # Settings read the environment at django.setup(), so it must be set first.
    os.environ["DATABASE_URL"] = url
    os.environ["SECRET_KEY"] = "benchmark-only-not-secret"
    os.environ["DJANGO_SETTINGS_MODULE"] = "shopsite.settings"
    # These benches measure the store and its readers: no component reacts to what they append,
    # nor projector: the read models are rebuilt where a bench needs them (rebuild, reports).
    os.environ["CONSUMER_DELIVERY_ON_COMMIT"] = "0"
    os.environ["PROJECTIONS_ON_COMMIT"] = "0"
    # Whatever a commit still asks runs in the committing thread, inside the figures, not in a
    # background thread that would compete with the bench for the cores unseen.
    os.environ["EMBEDDED_WORKER"] = "inline"
    # Nor a broker of the shell's: a bench's process sends no task (its workers get theirs in `env`).
    os.environ.pop("CELERY_BROKER_URL", None)
    # Benchmarks talk plain http to the site (test client, gunicorn): no redirect to https.
    os.environ["SECURE_SSL_REDIRECT"] = "0"
    os.environ["STATIC_MANIFEST"] = "0"  # nor collectstatic: static files keep their names
    # Benchmarks run without collectstatic; whitenoise would warn at every request.
    warnings.filterwarnings("ignore", "No directory at", UserWarning)
    import django

    django.setup()


def _check_nothing_reacts() -> None:
    """Stop the bench unless what it appends stays unanswered in this process, as `setup_django` means.

    A commit of events calls the store's listeners; each must be one of those the settings above
    turn off. A listener added later, or a setting renamed, would have it react to the bench's
    events (bench/append.py once ran projectors that failed on every commit and never finished):
    this says so at the start instead.
    """
    from django.conf import settings

    from eventstore import store
    from eventstore.consumers import send_after_commit
    from eventstore.projections import run_after_commit

    if settings.CONSUMER_DELIVERY_ON_COMMIT or settings.PROJECTIONS_ON_COMMIT:
        raise RuntimeError("CONSUMER_DELIVERY_ON_COMMIT and PROJECTIONS_ON_COMMIT must be off in a bench's process.")
    turned_off = (send_after_commit, run_after_commit)
    unknown = [listener for listener in store.commit_listeners() if listener not in turned_off]
    if unknown:
        names = ", ".join(f"{listener.__module__}.{listener.__qualname__}" for listener in unknown)
        raise RuntimeError(
            f"A commit of events also calls {names}: give it a setting that turns it off, and turn it"
            " off in bench/_harness.py setup_django, so benches measure what they write alone."
        )


def vacuum_analyze(url: str, *tables: str) -> None:
    """Hint bits, the visibility map and the planner's statistics now, after a bulk load, so the
    first timed read does not pay for them (autovacuum would have, on a live site)."""
    with psycopg.connect(url, autocommit=True) as conn:
        for table in tables:
            conn.execute(f"VACUUM ANALYZE {table}")


# --- the site and its workers ----------------------------------------------------------------------


def create_partner(name: str, *, sources: str) -> str:
    """A partner allowed these sources, at a rate limit no run reaches; its API key."""
    from django.core.management import call_command

    out = io.StringIO()
    call_command("create_partner", name, sources=sources, rate=100_000_000, stdout=out)
    return out.getvalue().strip().splitlines()[-1]


@contextmanager
def pipeline_services(broker: str, cache: str) -> Iterator[dict[str, str]]:
    """Redis databases of the bench's own for Celery's broker and the cache, emptied before and
    after (also after a failure), as the site's environment: with them, the partner key a bench
    made is trusted for 5 s, as a bench revokes none."""
    import redis

    def empty() -> None:
        for url in (broker, cache):
            redis.Redis.from_url(url).flushdb()

    empty()
    try:
        yield {"CELERY_BROKER_URL": broker, "CACHE_URL": cache, "PARTNER_KEY_CACHE_SECONDS": "5"}
    finally:
        empty()


def gunicorn(env: dict[str, str], options: Sequence[str]) -> AbstractContextManager[Site]:
    """The site under gunicorn with exactly `env`, through the test suite's launcher; stopped on exit."""
    from tests.serving import serve  # the launchers are imported by the benches that start processes

    return serve(env, options=options, ready_path="/healthz")


@dataclass
class Worker:
    """A Celery worker as the Procfile starts it: every queue, WORKER_CONCURRENCY pool processes."""

    name: str
    process: Process

    @property
    def pid(self) -> int:
        return self.process.popen.pid

    @property
    def alive(self) -> bool:
        return self.process.popen.poll() is None

    def label(self) -> str:
        return f"celery {self.name} (pid {self.pid})"


def start_worker(stack: ExitStack, env: dict[str, str], name: str) -> Worker:
    """A worker that runs until `stack` closes."""
    from tests.workers import celery_worker

    return Worker(name, stack.enter_context(celery_worker(env, name, concurrency=WORKER_CONCURRENCY)))


def start_workers(stack: ExitStack, env: dict[str, str], names: Iterable[str]) -> tuple[list[Worker], Process]:
    """Workers and beat, as the Procfile runs them, until `stack` closes."""
    from tests.workers import celery_beat

    workers = [start_worker(stack, env, name) for name in names]
    return workers, stack.enter_context(celery_beat(env))


# --- processes on this machine, from /proc ---------------------------------------------------------


def _read(path: str) -> str:
    """A file of /proc; empty when its process has ended meanwhile."""
    try:
        return Path(path).read_text()
    except (FileNotFoundError, ProcessLookupError):
        return ""


def _stat(pid: int) -> list[str] | None:
    """The fields of /proc/<pid>/stat after the command's name, or None if the process ended."""
    return _read(f"/proc/{pid}/stat").rpartition(")")[2].split() or None


def _pids() -> Iterator[int]:
    return (int(entry.name) for entry in Path("/proc").iterdir() if entry.name.isdigit())


def children(pid: int) -> list[int]:
    """The direct children of `pid` (gunicorn's workers, of its master)."""
    return [int(child) for child in _read(f"/proc/{pid}/task/{pid}/children").split()]


def process_tree(pid: int) -> list[int]:
    """`pid` and all its descendants."""
    return [pid, *(descendant for child in children(pid) for descendant in process_tree(child))]


def group_pids(pgid: int) -> list[int]:
    """The processes of process group `pgid`: a worker started in a session of its own, with its pool."""
    return [pid for pid in _pids() if (fields := _stat(pid)) is not None and int(fields[2]) == pgid]


def postgres_pids() -> list[int]:
    """Every PostgreSQL process on this machine (backends, WAL writer, checkpointer)."""
    return [pid for pid in _pids() if _read(f"/proc/{pid}/comm").strip() in ("postgres", "postmaster")]


def cpu_seconds(pids: Iterable[int]) -> dict[int, float]:
    """CPU seconds (user and system) each of these processes has used so far; an ended one is left out."""
    tick = os.sysconf("SC_CLK_TCK")
    return {pid: (int(f[11]) + int(f[12])) / tick for pid in pids if (f := _stat(pid)) is not None}


def busy_seconds() -> float:
    """CPU seconds the whole machine has spent not idle (all cores), from /proc/stat."""
    user, nice, system, idle, iowait, *rest = (
        int(v) for v in Path("/proc/stat").read_text().split("\n")[0].split()[1:]
    )
    return (user + nice + system + sum(rest[:3])) / os.sysconf("SC_CLK_TCK")


def rss(pids: Iterable[int]) -> int:
    """Bytes of resident memory of these processes (VmRSS; a process that ended counts 0)."""
    lines = (line for pid in pids for line in _read(f"/proc/{pid}/status").splitlines())
    return sum(int(line.split()[1]) * 1024 for line in lines if line.startswith("VmRSS:"))


# --- timing and figures ----------------------------------------------------------------------------


def timed(func: Callable[[], object]) -> float:
    """Seconds that `func()` took."""
    start = time.perf_counter()
    func()
    return time.perf_counter() - start


def time_interleaved(cases: dict[str, Callable[[], object]], *, rounds: int) -> dict[str, list[float]]:
    """Seconds per call of each case, `rounds` times, the cases taking turns so noise falls on all alike."""
    samples: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(rounds):
        for name, case in cases.items():
            samples[name].append(timed(case))
    return samples


def staff_client(*, superuser: bool = False) -> Client:
    """Django's test client, logged in as a new staff user (a superuser if asked)."""
    from django.contrib.auth import get_user_model
    from django.test import Client

    users = get_user_model().objects
    if superuser:
        user = users.create_superuser("bench", password="bench-only-password")
    else:
        user = users.create_user("bench", password="bench-only-password", is_staff=True)
    client = Client(HTTP_HOST="localhost")
    client.force_login(user)
    return client


def time_pages(client: Client, urls: dict[str, str], *, rounds: int) -> dict[str, list[float]]:
    """Seconds per GET of each page through Django's test `client`, the pages taking turns, after a
    warm-up GET each (templates, connections, plans); a page that does not answer 200 stops the run."""
    for name, url in urls.items():
        if (status := client.get(url).status_code) != 200:
            raise SystemExit(f"{name}: {url} answered {status}")
    return time_interleaved({name: (lambda url=url: client.get(url)) for name, url in urls.items()}, rounds=rounds)


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def percentile(values: Sequence[float], fraction: float) -> float:
    """The value at `fraction` (0.5, 0.99) of `values`, nearest rank; nan when there are none."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))]


def p95(values: Sequence[float]) -> float:
    """The 95th percentile, as `percentile` takes it: the tables' p95 and the goals' are one figure."""
    return percentile(values, 0.95)


def spread(values: Sequence[float], unit: float = 1.0) -> str:
    """`p50 … p95 … p99 … max …` of `values`, in `unit`s."""
    p = [percentile(values, f) / unit for f in (0.5, 0.95, 0.99)]
    return f"p50 {p[0]:7.2f}  p95 {p[1]:7.2f}  p99 {p[2]:7.2f}  max {max(values, default=float('nan')) / unit:7.2f}"


def per_second(count: int, seconds: Sequence[float]) -> float:
    """The rate of `count` items in the median run: the figure that ratios compare."""
    return count / median(seconds)


def throughput(count: int, seconds: Sequence[float]) -> str:
    """`median N  (runs: a, b, c)`, the runs shown so noise can be judged."""
    runs = ", ".join(f"{count / s:,.0f}" for s in seconds)
    return f"median {per_second(count, seconds):>9,.0f}  (runs: {runs})"


def print_rows(rows: Sequence[tuple[str, str]]) -> None:
    """A table: each row `   label  figures`, the labels padded to one width so the figures line up."""
    width = max(len(label) for label, _ in rows)
    for label, figures in rows:
        print(f"   {label.ljust(width)}  {figures}".rstrip())


def progress(desc: str, total: float | None = None, *, unit: str = "it", unit_scale: bool = False) -> tqdm:
    """A progress bar on stderr, gone when done, so only the figures stay on stdout."""
    return tqdm(total=total, desc=desc, unit=unit, unit_scale=unit_scale, leave=False)


def note(text: str) -> None:
    """A line on stderr beside the figures, not among them, that leaves a progress bar whole."""
    tqdm.write(text, file=sys.stderr)
