"""gunicorn's settings for the site (the Procfile's `web`; gunicorn also reads this file by itself
when started in the project's folder). Options given on the command line win over these.

| variable           | default                                                   |
| ------------------ | --------------------------------------------------------- |
| PORT               | 8000 (listens on every interface)                         |
| WEB_CONCURRENCY    | 3 worker processes                                        |
| WEB_THREADS        | 1 thread per worker (gthread: keep-alive beside requests) |
| WEB_TIMEOUT        | 30 s a request may take before its worker is restarted    |
| WEB_MAX_REQUESTS   | 10000 requests a worker serves before it is replaced       |
| FORWARDED_ALLOW_IPS | 127.0.0.1,::1: proxies whose X-Forwarded-Proto is trusted |
| PROMETHEUS_MULTIPROC_DIR | none; a directory: /metrics adds up every worker's counts |

Each worker thread holds one database connection: a machine opens up to WEB_CONCURRENCY x
WEB_THREADS connections to PostgreSQL for the web.
"""

import os
from pathlib import Path

from shopsite.observability.logs import environment_logging_config

bind = [f"0.0.0.0:{os.environ.get('PORT', '8000')}"]
workers = int(os.environ.get("WEB_CONCURRENCY", "3"))
worker_class = "gthread"
threads = int(os.environ.get("WEB_THREADS", "1"))

timeout = int(os.environ.get("WEB_TIMEOUT", "30"))
# On SIGTERM (a deploy, a scale-down) requests in flight get this long to finish.
graceful_timeout = 30
# Behind a load balancer that keeps connections open: a little over its usual idle timeouts.
keepalive = 5

# A worker is replaced after this many requests, at a random point of the last tenth so the workers
# do not all restart at once: whatever memory a worker grows is given back.
max_requests = int(os.environ.get("WEB_MAX_REQUESTS", "10000"))
max_requests_jitter = max_requests // 10

# The TLS proxy in front: gunicorn takes X-Forwarded-Proto (https) only from these addresses, and
# Django then sees the request as secure. Set it to the proxy's address ("*" only when nothing but
# the proxy can reach this port).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")

# gunicorn's own lines (the master's too) as every process logs: JSON on standard error (LOG_FORMAT,
# LOG_LEVEL). No access log: the site logs a line per request itself, with its request id.
logconfig_dict = environment_logging_config()
accesslog = None
errorlog = "-"

# The workers' heartbeat files in memory: a container's disk can stall long enough to kill workers.
if os.path.isdir("/dev/shm"):
    worker_tmp_dir = "/dev/shm"


def on_starting(server):
    """Prometheus' multiprocess mode (PROMETHEUS_MULTIPROC_DIR set): the workers write their counts
    in that directory, and a scrape adds up every file in it. Emptied at start, or counts of a
    previous run would be added to this one's."""
    if directory := os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        Path(directory).mkdir(parents=True, exist_ok=True)
        for stale in Path(directory).glob("*.db"):
            stale.unlink()


def child_exit(server, worker):
    """A worker is gone: its counts stay in the sum, its live gauges (if any) leave it."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
