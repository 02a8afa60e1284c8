"""The one settings module, driven by environment variables, read top to bottom by concern.

Development works with no variables at all.  With DJANGO_DEBUG=false the process
refuses to start unless DJANGO_SECRET_KEY and ALLOWED_HOSTS are given.  Every
value is defined once, by a helper that fails loudly (ImproperlyConfigured naming
the variable) on a malformed value; every secret can also come from a file named
by `<NAME>_FILE` (Kubernetes secrets mounted as files).  Sections: environment
helpers · core and security · accounts · apps, middleware, templates · time and
static files · database · request and input bounds · Redis and live updates · Celery · Kafka and events ·
search · chat · logging and metrics.
"""

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from kombu import Queue

from tasks_app.limits import TASK_DESCRIPTION_MAX_LENGTH_CEILING

# --------------------------------------------------------------------------- environment helpers

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(os.environ.get("DEVSTACK_DATA_DIR") or BASE_DIR / ".data")


def _load_devstack_env(path: Path) -> None:
    """`make run` writes the URLs of the services it started here, so that
    `manage.py` in a second terminal reaches them.  Variables already set win."""
    if not path.is_file():
        return
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, value = (part.strip() for part in line.split("=", 1))
        if not os.environ.get(key):
            os.environ[key] = value


_load_devstack_env(DATA_DIR / "devstack.env")


def env_str(name: str, default: str | None = None) -> str | None:
    file_path = os.environ.get(f"{name}_FILE")
    if file_path:
        try:
            return Path(file_path).read_text().strip()
        except OSError as exc:
            raise ImproperlyConfigured(f"{name}_FILE={file_path!r} cannot be read: {exc}") from exc
    value = os.environ.get(name)
    return default if value is None or value == "" else value


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name}={value!r} is not a boolean (use true or false)")


def env_int(name: str, default: int, *, minimum: int | None = None, maximum: int | None = None) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={value!r} is not an integer") from None
    if minimum is not None and number < minimum:
        raise ImproperlyConfigured(f"{name}={number} must be at least {minimum}")
    if maximum is not None and number > maximum:
        raise ImproperlyConfigured(f"{name}={number} must be at most {maximum}")
    return number


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


# --------------------------------------------------------------------------- core and security

DEBUG = env_bool("DJANGO_DEBUG", True)

SECRET_KEY = env_str("DJANGO_SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set when DJANGO_DEBUG=false")
    SECRET_KEY = "django-insecure-development-only-key-do-not-use-in-production"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]", "testserver"] if DEBUG else [])
if not DEBUG and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS must be set when DJANGO_DEBUG=false (comma-separated host names)")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

# Production hardening.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
# /healthz is probed over plain HTTP inside the cluster.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^metrics$"]
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

# --------------------------------------------------------------------------- accounts

# Sign-up through the API and the web form; operators of a private instance turn it off.
ALLOW_SIGNUP = env_bool("ALLOW_SIGNUP", True)
# `make run` creates a demo/demo account; never outside development.
DEMO_USER_ENABLED = DEBUG and env_bool("DEMO_USER", True)

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# --------------------------------------------------------------------------- apps, middleware, templates

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "django_prometheus",
    "ninja",
    "tasks_app",
    "chat_app",
    "workers",
    "channels",  # WebSockets (live updates) on the same ASGI app: see "Redis and live updates"
]

MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

ROOT_URLCONF = "todo_project.urls"
WSGI_APPLICATION = "todo_project.wsgi.application"
ASGI_APPLICATION = "todo_project.asgi.application"

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
                "todo_project.context_processors.site",
            ],
        },
    },
]

# --------------------------------------------------------------------------- time and static files

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
# In development, WhiteNoise serves static files straight from the apps (no collectstatic).
WHITENOISE_USE_FINDERS = DEBUG
WHITENOISE_AUTOREFRESH = DEBUG

# --------------------------------------------------------------------------- database

DATABASE_URL = env_str("DATABASE_URL")
if not DATABASE_URL:
    raise ImproperlyConfigured(
        "DATABASE_URL is not set. Start the app with `make run` (it starts PostgreSQL and "
        "writes .data/devstack.env), or set DATABASE_URL=postgresql://user:pass@host:5432/db."
    )
_database = dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 0, minimum=0),
                                  conn_health_checks=True)
if _database["ENGINE"] != "django.db.backends.postgresql":
    raise ImproperlyConfigured("DATABASE_URL must point at PostgreSQL (postgresql://…): search and the outbox need it")
_database["ENGINE"] = "django_prometheus.db.backends.postgresql"
# Guards for web requests: a statement running longer than DB_STATEMENT_TIMEOUT_MS, or waiting
# longer than DB_LOCK_TIMEOUT_MS for a lock, is cancelled by PostgreSQL and answered 503 with
# Retry-After (todo_project.api), so one slow query cannot hold a web worker and a connection for
# long.  Passed as startup options: no extra round trip per connection.  Celery workers use
# DB_WORKER_* instead and `manage.py migrate` runs without limits (todo_project.database).  0 turns
# a limit off.  TCP keepalives notice a server or network gone silent within about a minute.
DB_STATEMENT_TIMEOUT_MS = env_int("DB_STATEMENT_TIMEOUT_MS", 5000, minimum=0)
DB_LOCK_TIMEOUT_MS = env_int("DB_LOCK_TIMEOUT_MS", 3000, minimum=0)
DB_WORKER_STATEMENT_TIMEOUT_MS = env_int("DB_WORKER_STATEMENT_TIMEOUT_MS", 0, minimum=0)
DB_WORKER_LOCK_TIMEOUT_MS = env_int("DB_WORKER_LOCK_TIMEOUT_MS", 0, minimum=0)
# Seconds a client is told to wait (Retry-After) after a database timeout or outage.
DB_RETRY_AFTER_SECONDS = env_int("DB_RETRY_AFTER_SECONDS", 2, minimum=1)
_database.setdefault("OPTIONS", {}).update({
    "connect_timeout": _database["OPTIONS"].get("connect_timeout", 5),
    "options": f"-c statement_timeout={DB_STATEMENT_TIMEOUT_MS} -c lock_timeout={DB_LOCK_TIMEOUT_MS}",
    "keepalives": 1,
    "keepalives_idle": env_int("DB_KEEPALIVES_IDLE", 30, minimum=1),
    "keepalives_interval": 10,
    "keepalives_count": 3,
})
DATABASES = {"default": _database}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --------------------------------------------------------------------------- request and input bounds

# A request body larger than this is refused with 413 before it is read (todo_project.asgi;
# Django's own check for other servers).  The largest valid body is far smaller.
REQUEST_BODY_MAX_BYTES = env_int("REQUEST_BODY_MAX_BYTES", 1024 * 1024, minimum=1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = REQUEST_BODY_MAX_BYTES
# Characters in a task description: enforced by the API schema and tasks_app.cleaning; the
# database holds at most TASK_DESCRIPTION_MAX_LENGTH_CEILING (tasks_app.limits).
TASK_DESCRIPTION_MAX_LENGTH = env_int("TASK_DESCRIPTION_MAX_LENGTH", 10_000, minimum=1,
                                      maximum=TASK_DESCRIPTION_MAX_LENGTH_CEILING)

# --------------------------------------------------------------------------- Redis and live updates

# Celery's broker (below), the Channels layer, the worker metrics counters and rate limits.
REDIS_URL = env_str("REDIS_URL", "redis://127.0.0.1:6379/0")

# WebSockets at /ws/tasks/ (Django Channels, served by the same uvicorn ASGI app; no daphne):
# the worker job `workers.push_live_update` sends each event to its user's group through Redis.
# socket_timeout: redis-py 8 reads with a 5 s timeout by default, which cuts channels_redis's
# blocking 5 s BZPOPMIN short and tears every idle socket down (django/channels_redis#422);
# a little longer than that wait still notices a dead connection.
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {"hosts": [{"address": REDIS_URL, "socket_timeout": 15}], "prefix": "todo-live"},
    },
}

# --------------------------------------------------------------------------- Celery (todo_project/celery.py reads CELERY_*)

CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", REDIS_URL)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# visibility_timeout: how long an unacknowledged (late-ack) job waits before Redis redelivers it.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 600, minimum=60),
    "socket_timeout": 5,
    "socket_connect_timeout": 5,
}
CELERY_TASK_IGNORE_RESULT = True  # nothing reads results; no result backend
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = False  # set per task: only idempotent jobs ack late
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# Live pushes have their own queue, so that they never wait behind a backlog of other jobs
# (an outbox burst, a sweep after an outage).  A worker started without -Q consumes every queue
# listed here, taking from each in turn; one started with -Q must name "live" too.
CELERY_TASK_QUEUES = (Queue("celery", routing_key="celery"), Queue("live", routing_key="live"))
CELERY_TASK_ROUTES = {"workers.push_live_update": {"queue": "live"}}

# Beat intervals (seconds): the outbox sweeper re-sends what an after-commit dispatch lost.
OUTBOX_SWEEP_INTERVAL = env_int("OUTBOX_SWEEP_INTERVAL", 5, minimum=1)
REMINDER_SCAN_INTERVAL = env_int("REMINDER_SCAN_INTERVAL", 30, minimum=1)
# Jobs (audit, recurrence) whose dispatch was lost are re-dispatched after this many seconds.
JOB_SWEEP_INTERVAL = env_int("JOB_SWEEP_INTERVAL", 60, minimum=1)
JOB_SWEEP_GRACE_SECONDS = env_int("JOB_SWEEP_GRACE_SECONDS", 30, minimum=0)
CELERY_BEAT_SCHEDULE = {
    "outbox-sweep": {"task": "workers.publish_outbox", "schedule": OUTBOX_SWEEP_INTERVAL,
                     "options": {"expires": OUTBOX_SWEEP_INTERVAL}},
    "reminder-scan": {"task": "workers.scan_reminders", "schedule": REMINDER_SCAN_INTERVAL,
                      "options": {"expires": REMINDER_SCAN_INTERVAL}},
    "job-sweep": {"task": "workers.sweep_lost_jobs", "schedule": JOB_SWEEP_INTERVAL,
                  "options": {"expires": JOB_SWEEP_INTERVAL}},
}
CELERY_BEAT_SCHEDULE_FILENAME = str(DATA_DIR / "celerybeat-schedule")

# --------------------------------------------------------------------------- Kafka and events (outbox sink)

KAFKA_BOOTSTRAP_SERVERS = env_str("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
# Extra librdkafka settings for managed Kafka (SASL_SSL etc.); empty for a local broker.
KAFKA_SECURITY_PROTOCOL = env_str("KAFKA_SECURITY_PROTOCOL", "PLAINTEXT")
KAFKA_SASL_MECHANISM = env_str("KAFKA_SASL_MECHANISM")
KAFKA_SASL_USERNAME = env_str("KAFKA_SASL_USERNAME")
KAFKA_SASL_PASSWORD = env_str("KAFKA_SASL_PASSWORD")
# Used when the app creates its topics (tasks_app.events.TOPICS).
KAFKA_TOPIC_PARTITIONS = env_int("KAFKA_TOPIC_PARTITIONS", 3, minimum=1)
KAFKA_TOPIC_REPLICATION_FACTOR = env_int("KAFKA_TOPIC_REPLICATION_FACTOR", 1, minimum=1)
# How long the sink waits for the broker to acknowledge a batch before it gives up on this round.
KAFKA_DELIVERY_TIMEOUT_SECONDS = env_int("KAFKA_DELIVERY_TIMEOUT_SECONDS", 10, minimum=1)

# CloudEvents `source` of every event this deployment emits.
EVENT_SOURCE = env_str("EVENT_SOURCE", "urn:todo-app:tasks")
# Rows the Kafka sink publishes per round trip (one flush, one UPDATE).
OUTBOX_BATCH_SIZE = env_int("OUTBOX_BATCH_SIZE", 1000, minimum=1)

# --------------------------------------------------------------------------- search (tasks_app)

# PostgreSQL text-search configuration for task search: stemming and stop words
# ("english": "meetings" matches "meeting").  `migrate` writes it into the
# database, where the search triggers and queries read it, so documents and
# queries always agree; after changing it on an existing database run
# `manage.py search_reindex` to apply it and recompute every task's vector.
SEARCH_CONFIG = env_str("SEARCH_CONFIG", "english")
if not (SEARCH_CONFIG.count(".") <= 1 and all(part.isidentifier() for part in SEARCH_CONFIG.split("."))):
    raise ImproperlyConfigured(f"SEARCH_CONFIG={SEARCH_CONFIG!r} is not a text-search configuration name")

# --------------------------------------------------------------------------- chat (chat_app)

# With a key the chat runs an OpenAI Agents SDK agent over the MCP tools; without one,
# the built-in offline assistant answers.  OPENAI_BASE_URL points at any OpenAI-compatible
# server (Ollama, vLLM, …), used through the Chat Completions API.
OPENAI_API_KEY = env_str("OPENAI_API_KEY")
OPENAI_BASE_URL = env_str("OPENAI_BASE_URL")
OPENAI_MODEL = env_str("OPENAI_MODEL", "gpt-4o-mini")

# --------------------------------------------------------------------------- logging and metrics

LOG_LEVEL = env_str("LOG_LEVEL", "INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        # Audit lines are JSON already; print them as they are.
        "message": {"format": "%(message)s"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain"},
        "audit": {"class": "logging.StreamHandler", "formatter": "message"},
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "todo.audit": {"handlers": ["audit"], "level": "INFO", "propagate": False},
        "django.db.backends": {"level": "INFO"},
    },
}

# Prometheus metrics of the Celery worker (the web process serves its own on /metrics);
# a pod sets the address to 0.0.0.0 (the Helm chart does).  Port 0 turns the endpoint off.
WORKER_METRICS_PORT = env_int("WORKER_METRICS_PORT", 9808, minimum=0)
WORKER_METRICS_ADDR = env_str("WORKER_METRICS_ADDR", "127.0.0.1")
