"""Settings, all read from the environment (twelve-factor). README.md's table of settings (under
"Production shape") lists each variable, what it does and its default."""

import os
import tempfile
from datetime import timedelta
from ipaddress import ip_network
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

from shopsite import content_security
from shopsite.observability.logs import environment_logging_config

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()

DEBUG = env.bool("DEBUG", default=False)
# Read as is: django-environ takes a value starting with "$" for the name of another variable,
# and a key Django generates may start with "$".
SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    SECRET_KEY = "django-insecure-development-only-key"
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework_api_key",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "csp",
    "axes",
    "eventstore",
    "shopsite",
    "gateway",
    "readside",
    "orders",
    "billing",
    "shipping",
    "webhooks",
    "returns",
]

MIDDLEWARE = [
    "shopsite.observability.middleware.RequestObservabilityMiddleware",  # first: every answer counted, with its id
    "shopsite.request_limits.RequestBodyLimitMiddleware",  # before anything reads a body: 413 if too large (S6)
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # Last, as django-axes requires: it turns a login refused for a lockout into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "shopsite.urls"
WSGI_APPLICATION = "shopsite.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------

DATABASES = {"default": env.db_url("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # SQLite serves web and workers at once: WAL lets readers run beside the one writer, the busy timeout
    # makes a writer wait instead of failing, and IMMEDIATE transactions take the write lock at BEGIN, so
    # two transactions never deadlock upgrading a read lock to a write.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # Tests use a file beside the database's (test-<name>.sqlite3): threads see WAL and the busy timeout.
    database_file = Path(DATABASES["default"]["NAME"])
    DATABASES["default"]["TEST"] = {"NAME": str(database_file.with_name(f"test-{database_file.name}"))}
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    options = DATABASES["default"].setdefault("OPTIONS", {})
    # The event store runs its append as a prepared statement when this is set (Django's own
    # queries bind in the client and never prepare). Set DB_PREPARE_THRESHOLD= (empty) behind a
    # pooler in transaction mode that cannot keep prepared statements (PgBouncer before 1.21).
    prepare_threshold = env.str("DB_PREPARE_THRESHOLD", default="5")
    options["prepare_threshold"] = int(prepare_threshold) if prepare_threshold else None
    # A store that is down answers 503 within this time rather than holding the request.
    options["connect_timeout"] = env.int("DB_CONNECT_TIMEOUT", default=5)
    # The server ends a session of ours left idle this long in a transaction, which would hold back every reader of
    # the log (docs/design.md 3.1). 0: not sent, the server's own applies (PgBouncer refuses the startup option).
    if idle := env.float("DB_IDLE_IN_TRANSACTION_TIMEOUT", default=5.0):
        options["options"] = f"{options.get('options', '')} -c idle_in_transaction_session_timeout={idle * 1000:.0f}"

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Event store ------------------------------------------------------------------------------

EVENTSTORE_SNAPSHOT_EVERY = env.int("EVENTSTORE_SNAPSHOT_EVERY", default=100)
# A runner that stops renewing its lease (paused, hung) loses it after this long; on PostgreSQL one whose
# session ended loses it at once, by a session-level advisory lock (off behind PgBouncer in transaction
# mode, where a session lock stays on the pooled connection): eventstore/leases.py.
PARTITION_LEASE_SECONDS = env.float("PARTITION_LEASE_SECONDS", default=15.0)
PROJECTOR_LEASE_SECONDS = env.float("PROJECTOR_LEASE_SECONDS", default=30.0)
LEASE_SESSION_LOCKS = env.bool("LEASE_SESSION_LOCKS", default=True)

# --- Celery (docs/design.md section 4) ----------------------------------------------------------------

CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="")
# With no broker, tasks run in-process when they are sent (after the commit that sends them).
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
# With no broker, where the deliveries and projector runs a commit asks for run: "thread", in the
# process's background worker (eventstore.background), so a web request answers at once, as with
# a broker; "inline", in the committing thread before it goes on (the test suite's choice).
EMBEDDED_WORKER = env.str("EMBEDDED_WORKER", default="thread")
if EMBEDDED_WORKER not in ("thread", "inline"):
    raise ImproperlyConfigured(f"EMBEDDED_WORKER is thread or inline, not {EMBEDDED_WORKER!r}.")
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Celery closes the database connection before and after every task unless this is set: a drain is
# a short task, and a new PostgreSQL connection per task cost more than the work. Connections are
# still recycled by CONN_MAX_AGE and checked by CONN_HEALTH_CHECKS.
CELERY_DB_REUSE_MAX = env.int("CELERY_DB_REUSE_MAX", default=1000)
# A commit asks for delivery after it is committed: with the broker down, the request fails fast
# (the sweep asks again once it is back) instead of holding the answer to the client.
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.1, "interval_max": 0.1}
# One queue per consumer group, as its component declares it, and one for the projectors; a
# worker serves all of them or some (`celery worker -Q billing`). Found from the installed
# components (eventstore.components.queues), set on a worker as it starts (shopsite/celery.py).
CELERY_TASK_DEFAULT_QUEUE = "default"
# A consumer group's tasks (its drains, its replays) go to the queue the group declares; a
# component's own tasks (the webhooks' sender) to its group's.
CELERY_TASK_ROUTES = ["eventstore.components.route"]
CELERY_BEAT_SCHEDULE = {
    "forget-old-idempotency-keys": {"task": "gateway.tasks.forget_old_idempotency_keys", "schedule": 3600},
    "sweep-consumer-groups": {
        "task": "eventstore.tasks.sweep_consumer_groups",
        "schedule": env.float("CONSUMER_SWEEP_SECONDS", default=1.0),
    },
    "sweep-projections": {
        "task": "eventstore.tasks.sweep_projections",
        "schedule": env.float("PROJECTIONS_SWEEP_SECONDS", default=1.0),
    },
}
# Each committed event is sent to the groups it matches at once (a drain of its partition asked for with a
# broker, handled in the appending process without one); off, the sweep alone delivers (tests turn it on where needed).
CONSUMER_DELIVERY_ON_COMMIT = env.bool("CONSUMER_DELIVERY_ON_COMMIT", default=True)
# Each commit asks for a run of the projectors of its events (with no broker, in the embedded worker:
# EMBEDDED_WORKER); off, beat's sweep alone runs them (tests turn it on where needed).
PROJECTIONS_ON_COMMIT = env.bool("PROJECTIONS_ON_COMMIT", default=True)
# A message whose handler fails transiently is tried again after this many seconds, then twice as
# long each time (1, 2, 4, 8 s), and parked at the fifth failure (a group may set its own).
CONSUMER_RETRY_BASE_SECONDS = env.float("CONSUMER_RETRY_BASE_SECONDS", default=1.0)
# A group's work is split in this many partitions, each drained by one worker at a time.
CONSUMER_PARTITIONS = env.int("CONSUMER_PARTITIONS", default=4)
# A queued drain is marked in the cache, so commits meanwhile do not queue another; the mark
# expires after this long in case its drain is lost (the sweep asks again anyway).
CONSUMER_DRAIN_REQUEST_SECONDS = env.float("CONSUMER_DRAIN_REQUEST_SECONDS", default=30.0)
# The payment provider billing charges: the fake one, by design, until a real one is written.
BILLING_PAYMENT_GATEWAY = env.str("BILLING_PAYMENT_GATEWAY", default="billing.payment_gateway.FakePaymentGateway")
# A task that runs longer than the visibility timeout is delivered again; handlers are
# idempotent (tracking rows), so that costs time, never a second effect.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600)}
# Pool processes of a `celery worker` (the Procfile's `worker`), each with its own database connection.
CELERY_WORKER_CONCURRENCY = env.int("WORKER_CONCURRENCY", default=2)
# Beat's record of when it last sent each periodic task: every schedule here is an interval, so
# losing it costs nothing; kept out of the project's folder (which may be read-only).
CELERY_BEAT_SCHEDULE_FILENAME = env.str(
    "CELERY_BEAT_SCHEDULE_FILE", default=str(Path(tempfile.gettempdir()) / "shop-celerybeat-schedule")
)

# --- Webhooks (docs/design.md 6.7) ------------------------------------------------------------------------

# S17: webhooks go only to https URLs of public addresses, checked when an endpoint is set and again
# at each delivery; on, http and private, loopback and link-local addresses are let through (tests,
# local use). Never on in production: a webhook could then be aimed at the site's own network.
WEBHOOK_ALLOW_PRIVATE = env.bool("WEBHOOK_ALLOW_PRIVATE", default=False)
# A receiver that has not answered (connected, sent its status) within this many seconds has failed.
WEBHOOK_TIMEOUT_SECONDS = env.float("WEBHOOK_TIMEOUT_SECONDS", default=5.0)
# After a failure an endpoint waits this long, twice as long after each further failure in a row,
# and never longer than WEBHOOK_MAX_BACKOFF_SECONDS; a delivery still undelivered WEBHOOK_RETRY_HOURS
# after it was written is parked at its next failure (so it is tried for at least 24 hours).
WEBHOOK_RETRY_BASE_SECONDS = env.float("WEBHOOK_RETRY_BASE_SECONDS", default=1.0)
WEBHOOK_MAX_BACKOFF_SECONDS = env.float("WEBHOOK_MAX_BACKOFF_SECONDS", default=3600.0)
WEBHOOK_RETRY_HOURS = env.float("WEBHOOK_RETRY_HOURS", default=25.0)

# --- Cache ------------------------------------------------------------------------------------

CACHES = {
    "default": env.cache_url("CACHE_URL", default="locmemcache://"),
    # The fake payment provider's memory: the provider is outside the shop, so a test or the soak
    # can keep it where restarting the shop's Redis does not wipe it (the default cache otherwise).
    "payment_provider": env.cache_url(
        "FAKE_PAYMENT_PROVIDER_CACHE_URL", default=env.str("CACHE_URL", "locmemcache://")
    ),
}
for _cache in CACHES.values():
    if _cache["BACKEND"] == "django.core.cache.backends.redis.RedisCache":
        # The rate limit counts in the cache: a cache that is down must fail fast, not hang a request.
        _cache.setdefault("OPTIONS", {}).update(socket_connect_timeout=1, socket_timeout=1)

# --- Gateway and API (docs/design.md 6.1) ----------------------------------------------------------------

GATEWAY_MAX_BODY_BYTES = env.int("GATEWAY_MAX_BODY_BYTES", default=256 * 1024)
# A body over a limit is read and thrown away, up to this many bytes, before the 413 is sent: a
# client that sends the whole body before reading the answer (curl, requests) then reads the 413
# instead of a reset connection. A larger declared body is answered unread and the connection
# closed; a proxy in front (nginx: client_max_body_size) should refuse those first.
REQUEST_BODY_DRAIN_BYTES = env.int("REQUEST_BODY_DRAIN_BYTES", default=10 * 1024 * 1024)
GATEWAY_RATE_PER_MINUTE = env.int("GATEWAY_RATE_PER_MINUTE", default=600)
# The partner read API (docs/design.md 6.4) has its own count: reads never use up a partner's posts.
API_READ_RATE_PER_MINUTE = env.int("API_READ_RATE_PER_MINUTE", default=6000)
# A partner's key is looked up at most once this often per process; a revoked key is refused
# within this many seconds. 0: look it up on every request.
PARTNER_KEY_CACHE_SECONDS = env.float("PARTNER_KEY_CACHE_SECONDS", default=5.0)
IDEMPOTENCY_KEY_TTL = timedelta(hours=env.int("IDEMPOTENCY_KEY_TTL_HOURS", default=24))

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.SessionAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": ["gateway.api.parsers.StrictJSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "gateway.api.errors.exception_handler",
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Shop API",
    "DESCRIPTION": "The raw-message gateway for partners and the read API of their orders (docs/design.md 6.1, 6.4).",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    # Swagger UI's files come from the sidecar package through whitenoise: no CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- Security: HTTPS, cookies, content security policy -------------------------------------------

# With DEBUG off the site is served over HTTPS only, by default; tests and a local run over plain
# http turn these off (pyproject's pytest-env, tests/serving.site_environment).
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
# Load balancers, container health checks and Prometheus ask over plain http, inside the network.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^metrics$"]
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 365 * 24 * 3600)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=not DEBUG)
# Behind a TLS-terminating proxy, gunicorn already takes X-Forwarded-Proto from the addresses in
# FORWARDED_ALLOW_IPS (gunicorn.conf.py). This opt-in makes Django trust the header itself, from
# anyone: only when the proxy always sets it and nothing else reaches the site.
if proxy_ssl_header := env.str("SECURE_PROXY_SSL_HEADER", default=""):
    SECURE_PROXY_SSL_HEADER = ("HTTP_" + proxy_ssl_header.upper().replace("-", "_"), "https")
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# Reverse proxies in front of the site, each appending the address it received a request from to
# X-Forwarded-For. 0: the client is the connection's peer and the header is ignored (a client can
# write anything in it). See shopsite/client_address.py.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)

# Every page loads its scripts, styles, images and fonts from the site itself, nothing inline
# (django-csp): shopsite/content_security.py.
CONTENT_SECURITY_POLICY = content_security.POLICY

# --- Admin login lockout (django-axes) ----------------------------------------------------------

# AxesStandaloneBackend first: it refuses a locked-out client before any password is checked.
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
# A client address that fails this often, or a username that fails this often from anywhere, is
# locked out for LOGIN_LOCKOUT_MINUTES; a success clears the address's failures.
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
AXES_LOCKOUT_PARAMETERS = ["ip_address", "username"]
AXES_COOLOFF_TIME = timedelta(minutes=env.float("LOGIN_LOCKOUT_MINUTES", default=15))
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "lockout.html"
AXES_HTTP_RESPONSE_CODE = 429
# The address comes from the connection, or from X-Forwarded-For only behind TRUSTED_PROXY_COUNT
# proxies; never from a header a client can set (axes would use django-ipware's, if installed).
AXES_CLIENT_IP_CALLABLE = "shopsite.client_address.client_address"

# --- Auth, i18n, static -----------------------------------------------------------------------

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
FORMAT_MODULE_PATH = ["shopsite.formats"]  # times to the second, with the zone
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / "staticfiles")
# collectstatic writes each file under a name with its content's hash, and a gzip copy, so
# whitenoise serves them cached for ever. Rendering a page then needs collectstatic's manifest
# (with DEBUG off): the test suite, which does not collect, sets STATIC_MANIFEST=0; DEBUG on
# (`make run`) serves the files under their own names from the apps' folders either way.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if env.bool("STATIC_MANIFEST", default=True)
        else "whitenoise.storage.CompressedStaticFilesStorage"
    },
}

# Every process logs one JSON object per line (LOG_FORMAT=console for people; the default with
# DEBUG), at LOG_LEVEL: see shopsite/observability/logs.py.
LOGGING_CONFIG = "shopsite.observability.logs.configure"
LOGGING = environment_logging_config(env)

# --- Observability ------------------------------------------------------------------------------

# GET /metrics answers staff users, and clients whose own address (REMOTE_ADDR: never X-Forwarded-For, which
# the client writes) is in one of these networks, e.g. METRICS_ALLOWED_IPS=10.0.0.0/8,::1. None by default, not
# even loopback: behind a reverse proxy on the same host every client reaches the site from a loopback address.
METRICS_ALLOWED_IPS = tuple(ip_network(value, strict=False) for value in env.list("METRICS_ALLOWED_IPS", default=[]))
