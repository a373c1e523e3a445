"""Logs: one JSON object per line from every process (gunicorn, Celery worker and beat, manage.py).

Every standard-library logger (Django's, Celery's, gunicorn's, ours) writes through one handler on
the root logger whose formatter is structlog's `ProcessorFormatter`: a record becomes a dict of
`timestamp` (UTC, ISO 8601), `level`, `logger`, `event` (the message), `process`, the record's
`extra` fields, and whatever is bound in the log context (`structlog.contextvars`): `request_id`,
`correlation_id`, `group`, `event_id`, `projector`, `task`, `task_id`. A traceback is one
`exception` field. `LOG_FORMAT=console` renders the same dicts for people instead (the default
with DEBUG, as in `make run`).

Settings build the configuration with `environment_logging_config` and Django applies it with
`configure` (its LOGGING_CONFIG); Celery's worker and beat call `configure_for_celery` instead of
setting up logging of their own (at their --loglevel, unless LOG_LEVEL is set); gunicorn's master
applies the same dict (`logconfig_dict` in gunicorn.conf.py).
"""

from __future__ import annotations

import logging.config
import os
import sys
from typing import Any

import environ
import structlog

FORMATS = ("json", "console")


def environment_logging_config(env: environ.Env | None = None) -> dict[str, Any]:
    """The logging configuration the environment asks for: `LOG_LEVEL` (default INFO) and
    `LOG_FORMAT` (`json`, or `console`; default `console` with DEBUG on, else `json`)."""
    env = env or environ.Env()
    debug = env.bool("DEBUG", default=False)
    return logging_config(
        level=env.str("LOG_LEVEL", default="INFO"),
        log_format=env.str("LOG_FORMAT", default="console" if debug else "json"),
    )


def logging_config(*, level: str, log_format: str) -> dict[str, Any]:
    """A `logging.config.dictConfig` dict: every record to standard error, rendered by structlog."""
    if log_format not in FORMATS:
        raise ValueError(f"LOG_FORMAT must be one of {', '.join(FORMATS)}, not {log_format!r}.")
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"structured": {"()": "shopsite.observability.logs.formatter", "log_format": log_format}},
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "structured"}},
        "root": {"handlers": ["console"], "level": level},
        # These loggers come with handlers of their own (Django's plain console with DEBUG,
        # gunicorn's streams): emptied, their records reach the root's handler, once.
        "loggers": {
            "django": {"handlers": [], "level": "NOTSET", "propagate": True},
            "django.server": {"handlers": [], "level": "NOTSET", "propagate": True},
            "gunicorn.error": {"handlers": [], "propagate": True},
            # The site logs a line per request with its id (shopsite.requests): gunicorn's access
            # line would repeat it without the id.
            "gunicorn.access": {"handlers": [], "level": "WARNING", "propagate": True},
        },
    }


def formatter(*, log_format: str) -> structlog.stdlib.ProcessorFormatter:
    """The formatter of the root handler (named by `logging_config`)."""
    if log_format == "json":
        renderers = [structlog.processors.format_exc_info, structlog.processors.JSONRenderer()]
    else:
        # Plain tracebacks: a rich one would print the locals, secrets included.
        renderers = [
            structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty(), exception_formatter=structlog.dev.plain_traceback)
        ]
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*_shared_processors(), structlog.stdlib.ExtraAdder()],
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *renderers],
    )


def configure(config: dict[str, Any]) -> None:
    """Apply `config` (Django's LOGGING_CONFIG calls this with LOGGING), and send structlog's own
    loggers, should any code use them, through the same handler."""
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *_shared_processors(),
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    logging.config.dictConfig(config)
    logging.captureWarnings(True)  # Python's warnings too, as lines of the logger py.warnings


def configure_for_celery(loglevel: int | None = None, **_: Any) -> None:
    """Celery's `setup_logging` signal: Celery's worker and beat log through Django's LOGGING (with
    a receiver connected, Celery sets up no handler of its own), at their `--loglevel` unless
    LOG_LEVEL is set."""
    from django.conf import settings

    config = settings.LOGGING
    if loglevel and "LOG_LEVEL" not in os.environ:
        config = {**config, "root": {**config["root"], "level": loglevel}}
    configure(config)


def _shared_processors() -> list[Any]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.CallsiteParameterAdder([structlog.processors.CallsiteParameter.PROCESS]),
    ]
