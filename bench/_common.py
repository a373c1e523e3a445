"""What every benchmark shares: a scratch PostgreSQL database, Django set up on it, timing figures.

Each benchmark runs on a database of its own, created fresh and dropped at the end, on the server
named by DATABASE_URL (`make bench` sets it) or the local one, so benchmarks never see each other's
rows nor those of the test suite.

Importing this module puts the project on `sys.path`: a script run as `python bench/x.py` has only
`bench/` there, and needs `eventstore` and `shopsite`.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import statistics
import sys
import time
import uuid
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql
from tqdm import tqdm

DEFAULT_SERVER_URL = "postgres://postgres@127.0.0.1:5432/postgres"
PROJECT_DIR = Path(__file__).resolve().parent.parent
if str(PROJECT_DIR) not in sys.path:
    sys.path.insert(0, str(PROJECT_DIR))


class BenchmarkCannotRun(Exception):
    """The benchmark has no PostgreSQL server to run on; `run_main` turns it into exit status 2."""


def parse_args(description: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description.strip().splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a shorter run, for a smoke test")
    return parser.parse_args()


def run_main(main: Callable[[], None]) -> None:
    """Run a benchmark's `main`, with a clear message and a non-zero exit when it cannot run."""
    try:
        main()
    except BenchmarkCannotRun as error:
        print(f"benchmark cannot run: {error}", file=sys.stderr)
        sys.exit(2)


# --- the scratch database ----------------------------------------------------------------------


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
    # Benchmarks talk plain http to the site (test client, gunicorn): no redirect to https.
    os.environ["SECURE_SSL_REDIRECT"] = "0"
    os.environ["STATIC_MANIFEST"] = "0"  # nor collectstatic: static files keep their names
    # Benchmarks run without collectstatic; whitenoise would warn at every request.
    warnings.filterwarnings("ignore", "No directory at", UserWarning)
    import django

    django.setup()


# --- loading ----------------------------------------------------------------------------------

LOAD_CHUNK = 10_000

# Order streams of ten events of a few types, about 170 bytes of data and 110 of metadata each, one
# flow (correlation id) per order, like the events bench/append.py writes. transaction_id is left
# to its default, so each chunk's transaction gives its events their id, as appends would.
_LOAD = """
INSERT INTO eventstore_event
    (stream_id, category, version, event_id, event_type, data, metadata, correlation_id, recorded_at)
SELECT 'order-' || o, 'order', g %% 10, gen_random_uuid(),
       (ARRAY['OrderPlaced', 'PaymentCaptured', 'OrderShipped', 'OrderDelivered'])[1 + g %% 4],
       jsonb_build_object(
           'order_id', md5('order-' || o)::uuid::text, 'customer_id', 'customer-' || (o %% 977),
           'total', '39.80', 'currency', 'EUR',
           'lines', jsonb_build_array(jsonb_build_object(
               'sku', 'SKU-' || lpad((g %% 53)::text, 4, '0'), 'quantity', 1 + g %% 3, 'unit_price', '19.90'))),
       jsonb_build_object('correlation_id', flow, 'causation_id', NULL, 'user_id', 'user-7', 'source', 'bench'),
       flow, now() + g * interval '1 millisecond'
FROM generate_series(%(first)s::bigint, %(last)s::bigint) AS g,
     LATERAL (SELECT g / 10 AS o) AS stream,
     LATERAL (SELECT md5('flow-' || o)::uuid::text AS flow) AS correlation
"""


def flow_of_order(order: int) -> str:
    """The correlation id `load_events` gives the events of stream order-<order>."""
    return str(uuid.UUID(hashlib.md5(f"flow-{order}".encode()).hexdigest()))


def load_events(url: str, count: int, *, start: int = 0) -> None:
    """Bulk-load events `start` to `count` - 1 with SQL (the store's own writes are not measured)."""
    with psycopg.connect(url) as conn:
        with tqdm(total=count - start, desc="loading events", unit="event", unit_scale=True, leave=False) as bar:
            for first in range(start, count, LOAD_CHUNK):
                last = min(first + LOAD_CHUNK, count) - 1
                conn.execute(_LOAD, {"first": first, "last": last})
                conn.commit()
                bar.update(last + 1 - first)
    # Sets hint bits and the visibility map now, so the first timed read does not pay for it.
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE eventstore_event")


# --- timing ------------------------------------------------------------------------------------


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


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def p95(values: Sequence[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def percentile(values: Sequence[float], fraction: float) -> float:
    """The value at `fraction` (0.5, 0.99) of `values`, nearest rank; nan when there are none."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))]


def per_second(count: int, seconds: Sequence[float]) -> float:
    """The rate of `count` items in the median run: the figure that ratios compare."""
    return count / median(seconds)


def throughput_line(label: str, count: int, seconds: Sequence[float], *, width: int = 0) -> str:
    """`label  median N (runs: a, b, c)`, the runs shown so noise can be judged."""
    runs = ", ".join(f"{count / s:,.0f}" for s in seconds)
    return f"   {label.ljust(width)}  median {per_second(count, seconds):>9,.0f}  (runs: {runs})"


def goal_note(met: bool) -> str:
    """Appended to a ratio: a missed goal is reported clearly but is not a failure to run."""
    return "met" if met else "** GOAL MISSED **"
