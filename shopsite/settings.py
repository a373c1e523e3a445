"""Settings, all read from the environment (twelve-factor).

| variable            | default                                   |
| ------------------- | ----------------------------------------- |
| DEBUG               | off                                       |
| SECRET_KEY          | required when DEBUG is off                |
| ALLOWED_HOSTS       | 127.0.0.1,localhost                       |
| DATABASE_URL        | sqlite:///<project>/db.sqlite3            |
| CELERY_BROKER_URL   | none: tasks run in-process, in the caller |
| EVENTSTORE_SNAPSHOT_EVERY | 100 (events between snapshots)      |
| CONN_MAX_AGE        | 60 (PostgreSQL: seconds to keep a connection) |
| DB_PREPARE_THRESHOLD | 5 (PostgreSQL: empty turns prepared appends off) |
| CACHE_URL           | locmemcache://                            |
| LOG_LEVEL           | INFO                                      |
| DB_CONNECT_TIMEOUT  | 5 (PostgreSQL: seconds to wait for a connection) |
| GATEWAY_MAX_BODY_BYTES | 262144 (256 KiB; a larger body answers 413) |
| GATEWAY_RATE_PER_MINUTE | 600 (posts a minute per partner, unless set on the partner) |
| API_READ_RATE_PER_MINUTE | 6000 (read API requests a minute per partner, apart from its posts) |
| IDEMPOTENCY_KEY_TTL_HOURS | 24 (idempotency keys are kept at least this long) |
| PARTNER_KEY_CACHE_SECONDS | 5 (a revoked key is refused within this time) |
| CONSUMER_DELIVERY_ON_COMMIT | on (events go to the consumer groups when committed) |
| CONSUMER_SWEEP_SECONDS | 1 (beat sweeps the consumer groups this often) |
| CONSUMER_PARTITIONS | 4 (partitions of each group's work, one runner each) |
| PROJECTIONS_ON_COMMIT | on (a commit runs the projectors of its events) |
| PROJECTIONS_SWEEP_SECONDS | 1 (beat asks for a run of every projector behind this often) |
| CONSUMER_DRAIN_REQUEST_SECONDS | 30 (the mark of a queued drain expires after this long) |
| BILLING_PAYMENT_GATEWAY | billing.payment_gateway.FakePaymentGateway |
"""

from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from kombu import Queue

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY", default="")
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
    "eventstore",
    "shopsite",
    "orders",
    "billing",
    "shipping",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
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
    # SQLite serves web and workers at once: WAL lets readers run beside the one writer, the
    # busy timeout makes a writer wait instead of failing, and IMMEDIATE transactions take the
    # write lock at BEGIN, so two transactions never deadlock upgrading a read lock to a write.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # Tests use a file, not shared memory, so threads see WAL and the busy timeout as in production.
    # The test database sits beside the database file: test-<name>.sqlite3.
    database_file = Path(DATABASES["default"]["NAME"])
    DATABASES["default"]["TEST"] = {"NAME": str(database_file.with_name(f"test-{database_file.name}"))}
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    # The event store runs its append as a prepared statement when this is set (Django's own
    # queries bind in the client and never prepare). Set DB_PREPARE_THRESHOLD= (empty) behind a
    # pooler in transaction mode that cannot keep prepared statements (PgBouncer before 1.21).
    prepare_threshold = env.str("DB_PREPARE_THRESHOLD", default="5")
    DATABASES["default"].setdefault("OPTIONS", {})["prepare_threshold"] = (
        int(prepare_threshold) if prepare_threshold else None
    )
    # A store that is down answers 503 within this time rather than holding the request.
    DATABASES["default"]["OPTIONS"]["connect_timeout"] = env.int("DB_CONNECT_TIMEOUT", default=5)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Event store ------------------------------------------------------------------------------

EVENTSTORE_SNAPSHOT_EVERY = env.int("EVENTSTORE_SNAPSHOT_EVERY", default=100)

# --- Celery (DESIGN section 4) ----------------------------------------------------------------

CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="")
# With no broker, tasks run in-process when they are sent (after the commit that sends them).
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
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
# One queue per component; a worker serves all of them or some (`celery worker -Q billing`).
# A worker started without -Q serves every queue listed here.
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_QUEUES = [Queue(name) for name in ("default", "orders", "billing", "shipping", "projections")]
# A consumer group's tasks (its drains, its replays) go to the queue the group declares.
CELERY_TASK_ROUTES = ["eventstore.consumers.transport.route_to_group_queue"]
CELERY_BEAT_SCHEDULE = {
    "forget-old-idempotency-keys": {"task": "shopsite.tasks.forget_old_idempotency_keys", "schedule": 3600},
    "sweep-consumer-groups": {
        "task": "eventstore.tasks.sweep_consumer_groups",
        "schedule": env.float("CONSUMER_SWEEP_SECONDS", default=1.0),
    },
    "sweep-projections": {
        "task": "eventstore.tasks.sweep_projections",
        "schedule": env.float("PROJECTIONS_SWEEP_SECONDS", default=1.0),
    },
}
# Each committed event is sent to the groups it matches at once (a drain of its partition asked
# for with a broker, handled in the appending process without one); off, the sweep alone delivers
# (tests turn it on where needed).
CONSUMER_DELIVERY_ON_COMMIT = env.bool("CONSUMER_DELIVERY_ON_COMMIT", default=True)
# Each commit asks for a run of the projectors of its events (with no broker they run at once, in
# the committing thread); off, beat's sweep alone runs them (tests turn it on where needed).
PROJECTIONS_ON_COMMIT = env.bool("PROJECTIONS_ON_COMMIT", default=True)
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

# --- Cache ------------------------------------------------------------------------------------

CACHES = {"default": env.cache_url("CACHE_URL", default="locmemcache://")}
if CACHES["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache":
    # The rate limit counts in the cache: a cache that is down must fail fast, not hang a request.
    CACHES["default"].setdefault("OPTIONS", {}).update(socket_connect_timeout=1, socket_timeout=1)

# --- Gateway and API (DESIGN 6.1) ----------------------------------------------------------------

GATEWAY_MAX_BODY_BYTES = env.int("GATEWAY_MAX_BODY_BYTES", default=256 * 1024)
GATEWAY_RATE_PER_MINUTE = env.int("GATEWAY_RATE_PER_MINUTE", default=600)
# The partner read API (DESIGN 6.4) has its own count: reads never use up a partner's posts.
API_READ_RATE_PER_MINUTE = env.int("API_READ_RATE_PER_MINUTE", default=6000)
# A partner's key is looked up at most once this often per process; a revoked key is refused
# within this many seconds. 0: look it up on every request.
PARTNER_KEY_CACHE_SECONDS = env.float("PARTNER_KEY_CACHE_SECONDS", default=5.0)
IDEMPOTENCY_KEY_TTL = timedelta(hours=env.int("IDEMPOTENCY_KEY_TTL_HOURS", default=24))

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.SessionAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": ["shopsite.api.parsers.StrictJSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "shopsite.api.errors.exception_handler",
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Shop API",
    "DESCRIPTION": "The raw-message gateway for partners (DESIGN 6.1) and the read API of their orders (DESIGN 6.4).",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    # Swagger UI's files come from the sidecar package through whitenoise: no CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- Auth, i18n, static -----------------------------------------------------------------------

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}
