"""Observability: structured logs with request and correlation ids, and Prometheus metrics.

The modules: `logs` (the logging configuration every process uses), `context` (the ids bound to
the log context: request ids and Celery task headers), `middleware` (per request: its id, its log
line, its metrics), `metrics` (the metrics and `GET /metrics`).
"""
