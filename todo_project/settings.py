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
from redis.exceptions import ConnectionError as RedisConnectionError

from tasks_app.limits import TASK_DESCRIPTION_MAX_LENGTH_CEILING
from todo_project import email_url

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


_DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def env_rate(name: str, default: str) -> tuple[int, int] | None:
    """A rate limit written `COUNT/DURATION` (`5/15m`, `30/1m`, `1000/1d`; units s, m, h, d) as
    (count, seconds); `off` turns the limit off (None)."""
    value = (os.environ.get(name) or default).strip().lower()
    if value == "off":
        return None
    count, _, duration = value.partition("/")
    unit = duration[-1:] if duration[-1:] in _DURATION_UNITS else "s"
    amount = duration[:-1] if duration[-1:] in _DURATION_UNITS else duration
    if not (count.isdigit() and amount.isdigit() and int(count) >= 1 and int(amount) >= 1):
        raise ImproperlyConfigured(f"{name}={value!r} is not a rate such as 5/15m (COUNT/DURATION, "
                                   "units s, m, h, d) or off")
    return int(count), int(amount) * _DURATION_UNITS[unit]


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


# --------------------------------------------------------------------------- core and security

DEBUG = env_bool("DJANGO_DEBUG", True)

# Known to everyone who has read this file: fine on a laptop, never in production.
DEVELOPMENT_SECRET_KEY = "django-insecure-development-only-key-do-not-use-in-production"
SECRET_KEY = env_str("DJANGO_SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set when DJANGO_DEBUG=false")
    SECRET_KEY = DEVELOPMENT_SECRET_KEY
if not DEBUG and SECRET_KEY == DEVELOPMENT_SECRET_KEY:
    raise ImproperlyConfigured(
        "DJANGO_SECRET_KEY is the development key from todo_project/settings.py, which is public: refusing to "
        "start with DJANGO_DEBUG=false. Generate one: python -c 'import secrets; print(secrets.token_urlsafe(50))'"
    )

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

# Sign-up through the API and the web form: off unless turned on, except in development
# (`make run` turns it on explicitly).
ALLOW_SIGNUP = env_bool("ALLOW_SIGNUP", DEBUG)
# `make run` creates a demo/demo account; never outside development.
DEMO_USER_ENABLED = DEBUG and env_bool("DEMO_USER", True)

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    # Not a rule: Django tells validators of every saved password change (admin, forms,
    # `changepassword`); this one revokes the user's API tokens then.
    {"NAME": "tasks_app.accounts.RevokeTokensOnPasswordChange"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# API tokens expire this many days after they are issued (GET /api/auth/tokens shows when).
API_TOKEN_TTL_DAYS = env_int("API_TOKEN_TTL_DAYS", 90, minimum=1)
# A WebSocket ticket (POST /api/auth/ws-ticket) is good for one connection within this many seconds.
WS_TICKET_TTL_SECONDS = env_int("WS_TICKET_TTL_SECONDS", 30, minimum=1)

# Rate limits, counted in Redis (REDIS_URL) so that every web pod shares them (tasks_app.throttling);
# each is COUNT/DURATION or off.  Failed sign-ins (login page, admin login, POST /api/auth/token)
# are counted per username and per client IP; at the limit, that username or IP is locked out
# until the window ends, without a password check.  The rest count every request.
THROTTLE_LOGIN_FAILURES_PER_USERNAME = env_rate("THROTTLE_LOGIN_FAILURES_PER_USERNAME", "5/15m")
THROTTLE_LOGIN_FAILURES_PER_IP = env_rate("THROTTLE_LOGIN_FAILURES_PER_IP", "20/15m")
THROTTLE_SIGNUP_PER_IP = env_rate("THROTTLE_SIGNUP_PER_IP", "10/1h")
THROTTLE_SIGNUP_PER_USERNAME = env_rate("THROTTLE_SIGNUP_PER_USERNAME", "5/1h")
THROTTLE_CHAT_PER_USER = env_rate("THROTTLE_CHAT_PER_USER", "30/1m")
THROTTLE_MCP_CALLS_PER_USER = env_rate("THROTTLE_MCP_CALLS_PER_USER", "120/1m")
# Full downloads of one calendar feed (a 304 is not counted): apps refresh every few minutes per device.
THROTTLE_CALENDAR_FEED_PER_FEED = env_rate("THROTTLE_CALENDAR_FEED_PER_FEED", "120/1h")

# Storage quotas per user: a write past one is refused with 403 naming it.
QUOTA_TASKS_PER_USER = env_int("QUOTA_TASKS_PER_USER", 10000, minimum=1)
QUOTA_TAGS_PER_USER = env_int("QUOTA_TAGS_PER_USER", 1000, minimum=1)
QUOTA_CONVERSATIONS_PER_USER = env_int("QUOTA_CONVERSATIONS_PER_USER", 1000, minimum=1)
QUOTA_MESSAGES_PER_CONVERSATION = env_int("QUOTA_MESSAGES_PER_CONVERSATION", 1000, minimum=2)
QUOTA_WEBHOOKS_PER_USER = env_int("QUOTA_WEBHOOKS_PER_USER", 10, minimum=1)

# Import (POST /api/import, manage.py import_tasks): a file's size and how many tasks it may hold.
# Through the API the request body limit (REQUEST_BODY_MAX_BYTES) applies first.
IMPORT_MAX_BYTES = env_int("IMPORT_MAX_BYTES", 20 * 1024 * 1024, minimum=1024)
IMPORT_MAX_ROWS = env_int("IMPORT_MAX_ROWS", 5000, minimum=1)

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
    # First of ours: every later middleware, the view and the jobs it queues log with the request id;
    # it also writes the access log line (todo_project/request_id.py).
    "todo_project.request_id.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Errors under /api/ that no API handler built (unknown route, 405) as problem details too.
    "todo_project.problems.ApiErrorsAsProblems",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "tasks_app.middleware.UserTimezoneMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Idempotency-Key on every /api/ write: the route runs inside the key's transaction.
    "tasks_app.idempotent_api.IdempotentApiWritesMiddleware",
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
# Seconds a Celery pool process keeps its database connection between jobs (its CONN_MAX_AGE, set
# when the worker starts: todo_project.database).  A prefork child runs one job at a time in one
# thread, so a kept connection is safe there; Celery's Django fixup closes it after a job once it is
# older than this or broken, and CONN_HEALTH_CHECKS tests it before the next job uses it.  0: a new
# connection per job, whose start-up cost more CPU than most jobs (bench/load.py, docs/performance.md).
DB_WORKER_CONN_MAX_AGE = env_int("DB_WORKER_CONN_MAX_AGE", 60, minimum=0)
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
# A pool of connections per process (psycopg_pool, Django's OPTIONS["pool"]) for the web processes.
# Under ASGI Django runs each request's sync code in a thread of its own, so CONN_MAX_AGE keeps
# nothing (the next request is another thread) and a request would pay a new connection (TCP, startup,
# authentication: 3-8 ms here); a pool is shared by the process's threads.  Off (0) unless the launcher
# asks: the web role of the image, `make run` and the chart set it.  Celery's prefork pool forks after
# start-up and a connection pool cannot be shared across a fork, so workers keep plain connections.
# Sizing: processes × DATABASE_POOL_MAX_SIZE must stay below PostgreSQL's max_connections with room
# for the workers; a request that waits DATABASE_POOL_TIMEOUT_SECONDS for a connection is answered
# 503 with Retry-After like any database outage.  Each connection is checked (one empty round trip)
# when taken from the pool, so connections broken by a database restart are replaced, not used.
DATABASE_POOL_MAX_SIZE = env_int("DATABASE_POOL_MAX_SIZE", 0, minimum=0, maximum=100)
if DATABASE_POOL_MAX_SIZE:
    if _database["CONN_MAX_AGE"]:
        raise ImproperlyConfigured("DATABASE_POOL_MAX_SIZE and DATABASE_CONN_MAX_AGE exclude each other: set one")
    # Django passes CONN_HEALTH_CHECKS on to the pool as its check on taking a connection.
    _database["CONN_HEALTH_CHECKS"] = env_bool("DATABASE_POOL_CHECK", True)
    _database["OPTIONS"]["pool"] = {
        "min_size": min(2, DATABASE_POOL_MAX_SIZE),
        "max_size": DATABASE_POOL_MAX_SIZE,
        "timeout": env_int("DATABASE_POOL_TIMEOUT_SECONDS", 5, minimum=1),
        "max_idle": 300,
        "max_lifetime": 1800,
    }
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
# the worker job `workers.drain_live` sends each event to its user's group through Redis.
# socket_timeout: redis-py 8 reads with a 5 s timeout by default, which cuts channels_redis's
# blocking 5 s BZPOPMIN short and tears every idle socket down (django/channels_redis#422);
# a little longer than that wait still notices a dead connection.
# retry_on_error: connections are kept (by the web's event loop, and by each worker process's sender
# loop, tasks_app.live), so one Redis dropped (a restart, a timeout on its side) fails the next command
# on it; redis-py then reconnects and sends that command once more instead of failing it.
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {"hosts": [{"address": REDIS_URL, "socket_timeout": 15, "retry_on_error": [RedisConnectionError]}],
                   "prefix": "todo-live"},
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
# One message reserved per worker process: a process busy with a long job (a retention run,
# a sink backlog) does not sit on a second message that an idle process could run now.
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# Late-acked jobs (audit, recurrence) stay unacknowledged while they run.  When the worker
# loses its broker connection, Redis redelivers them (after the visibility timeout) to any
# worker, so the copy still running here would race its own redelivery: cancel it instead.
# Both jobs are idempotent and DB-enforced, so cancelling loses nothing; the sink (not late-
# acked, one at a time behind an advisory lock) and the periodic jobs are not affected.
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
# Every job has a time limit.  Each job sets its own (workers/tasks.py, JOB_LIMITS); these
# are the fallback for any job that does not.  Soft raises SoftTimeLimitExceeded in the job
# (it stops cleanly where it can); hard kills the process.  Hard limits stay well below the
# visibility timeout, or a late-acked job still running would be redelivered beside itself.
CELERY_TASK_SOFT_TIME_LIMIT = 60
CELERY_TASK_TIME_LIMIT = 90
# Celery's Django fixup closes every database connection around every job unless told to reuse
# them (this many jobs, then it closes them anyway).  Kept connections are looked after per job by
# todo_project.database.retire_connections: closed once older than DB_WORKER_CONN_MAX_AGE or broken,
# health-checked before the job's first query.
CELERY_DB_REUSE_MAX = 1000 if DB_WORKER_CONN_MAX_AGE else None

# Queues, so that no kind of work waits behind another's backlog (a worker takes from each
# queue in turn, one message at a time):
#   events       the Kafka sink and the reminder scan: what users and consumers wait for
#   default      audit and recurrence, one job per transaction or completion
#   live         WebSocket pushes, dropped when a minute late
#   maintenance  sweepers and retention: bulk work, bounded per run
# Every worker consumes all five unless told otherwise: `make run`, the image's `worker`
# role (CELERY_WORKER_QUEUES), the chart's worker and the test fixture name them with -Q.
# A bigger deployment can run a second worker on `-Q events` only.
#   webhooks     outgoing webhook requests and notification deliveries (SMTP, Web Push): other
#                people's servers, slow at worst, kept apart
CELERY_TASK_QUEUES = tuple(Queue(name, routing_key=name)
                           for name in ("events", "default", "live", "maintenance", "webhooks"))
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ROUTES = {
    "workers.publish_outbox": {"queue": "events"},
    "workers.scan_reminders": {"queue": "events"},
    "workers.fire_reminders": {"queue": "events"},
    "workers.record_audit": {"queue": "default"},
    "workers.record_audit_batch": {"queue": "default"},
    "workers.drain_audit": {"queue": "default"},
    "workers.spawn_next_occurrence": {"queue": "default"},
    "workers.push_live_update": {"queue": "live"},
    "workers.push_live_updates": {"queue": "live"},
    "workers.drain_live": {"queue": "live"},
    "workers.sweep_lost_jobs": {"queue": "maintenance"},
    "workers.prune_retention": {"queue": "maintenance"},
    "workers.deliver_webhooks": {"queue": "webhooks"},
    "workers.deliver_notifications": {"queue": "webhooks"},
}

# Beat intervals (seconds): the outbox sweeper re-sends what an after-commit dispatch lost.
OUTBOX_SWEEP_INTERVAL = env_int("OUTBOX_SWEEP_INTERVAL", 5, minimum=1)
REMINDER_SCAN_INTERVAL = env_int("REMINDER_SCAN_INTERVAL", 30, minimum=1)
# Reminders due before the next scan plus this margin get a precise `eta` job at their own time
# (workers.fire_reminders): armed by the change that set them and by each scan.  The scan stays the
# safety net for a lost job.  The margin covers a beat running a little late.
REMINDER_SCHEDULE_MARGIN = env_int("REMINDER_SCHEDULE_MARGIN", 10, minimum=0)
# Jobs (audit, recurrence) whose dispatch was lost are re-dispatched after this many seconds.
JOB_SWEEP_INTERVAL = env_int("JOB_SWEEP_INTERVAL", 60, minimum=1)
JOB_SWEEP_GRACE_SECONDS = env_int("JOB_SWEEP_GRACE_SECONDS", 30, minimum=0)
# ...and only as far back as this: older losses are left alone, so each sweep reads a recent window.
JOB_SWEEP_WINDOW_SECONDS = env_int("JOB_SWEEP_WINDOW_SECONDS", 86400, minimum=60)
RETENTION_INTERVAL = env_int("RETENTION_INTERVAL", 3600, minimum=1)
# Retries of webhook deliveries that are due (the first attempt is kicked after commit).
WEBHOOK_SCAN_INTERVAL = env_int("WEBHOOK_SCAN_INTERVAL", 5, minimum=1)
# Retries of notification deliveries (email) that are due, and a first attempt whose kick was lost.
NOTIFICATION_SCAN_INTERVAL = env_int("NOTIFICATION_SCAN_INTERVAL", 5, minimum=1)
CELERY_BEAT_SCHEDULE = {
    "outbox-sweep": {"task": "workers.publish_outbox", "schedule": OUTBOX_SWEEP_INTERVAL,
                     "options": {"expires": OUTBOX_SWEEP_INTERVAL}},
    "reminder-scan": {"task": "workers.scan_reminders", "schedule": REMINDER_SCAN_INTERVAL,
                      "options": {"expires": REMINDER_SCAN_INTERVAL}},
    "job-sweep": {"task": "workers.sweep_lost_jobs", "schedule": JOB_SWEEP_INTERVAL,
                  "options": {"expires": JOB_SWEEP_INTERVAL}},
    "retention": {"task": "workers.prune_retention", "schedule": RETENTION_INTERVAL,
                  "options": {"expires": RETENTION_INTERVAL}},
    "webhook-scan": {"task": "workers.deliver_webhooks", "schedule": WEBHOOK_SCAN_INTERVAL,
                     "options": {"expires": WEBHOOK_SCAN_INTERVAL}},
    "notification-delivery-scan": {"task": "workers.deliver_notifications", "schedule": NOTIFICATION_SCAN_INTERVAL,
                                   "options": {"expires": NOTIFICATION_SCAN_INTERVAL}},
}

# --------------------------------------------------------------------------- webhooks
# Outgoing requests (tasks_app.webhooks.network): https only and public addresses only, unless
# told otherwise for development (`make run` and the tests deliver to 127.0.0.1).
WEBHOOK_REQUIRE_HTTPS = env_bool("WEBHOOK_REQUIRE_HTTPS", not DEBUG)
WEBHOOK_ALLOW_PRIVATE_ADDRESSES = env_bool("WEBHOOK_ALLOW_PRIVATE_ADDRESSES", DEBUG)
WEBHOOK_CONNECT_TIMEOUT = env_int("WEBHOOK_CONNECT_TIMEOUT", 3, minimum=1)
WEBHOOK_READ_TIMEOUT = env_int("WEBHOOK_READ_TIMEOUT", 5, minimum=1)
WEBHOOK_TOTAL_TIMEOUT = env_int("WEBHOOK_TOTAL_TIMEOUT", 10, minimum=1)
WEBHOOK_MAX_RESPONSE_BYTES = env_int("WEBHOOK_MAX_RESPONSE_BYTES", 64 * 1024, minimum=0)
WEBHOOK_MAX_ATTEMPTS = env_int("WEBHOOK_MAX_ATTEMPTS", 8, minimum=1)
WEBHOOK_RETRY_BASE_SECONDS = env_int("WEBHOOK_RETRY_BASE_SECONDS", 10, minimum=1)
WEBHOOK_RETRY_MAX_SECONDS = env_int("WEBHOOK_RETRY_MAX_SECONDS", 6 * 3600, minimum=1)
WEBHOOK_DISABLE_AFTER_FAILURES = env_int("WEBHOOK_DISABLE_AFTER_FAILURES", 20, minimum=1)
WEBHOOK_SECRET_OVERLAP_HOURS = env_int("WEBHOOK_SECRET_OVERLAP_HOURS", 24, minimum=0)
WEBHOOK_LEASE_SECONDS = env_int("WEBHOOK_LEASE_SECONDS", 60, minimum=5)
WEBHOOK_MAX_PER_ENDPOINT_PER_RUN = env_int("WEBHOOK_MAX_PER_ENDPOINT_PER_RUN", 5, minimum=1)
CELERY_BEAT_SCHEDULE_FILENAME = str(DATA_DIR / "celerybeat-schedule")

# --------------------------------------------------------------------------- notification channels (tasks_app.channels)

# Where email goes (todo_project/email_url.py): smtp://, smtp+tls://, smtps://, console://, file:///folder,
# memory://.  Unset: in development (`make run`) a local mailbox, one file per message in .data/mail/;
# in production no email is sent and the email preference cannot be turned on.
EMAIL_URL = env_str("EMAIL_URL") or (f"file://{(DATA_DIR / 'mail').absolute()}" if DEBUG else None)
EMAIL_ENABLED = EMAIL_URL is not None
_email = email_url.parse(EMAIL_URL) if EMAIL_URL else {"EMAIL_BACKEND": "django.core.mail.backends.dummy.EmailBackend"}
EMAIL_BACKEND = _email["EMAIL_BACKEND"]
EMAIL_HOST = _email.get("EMAIL_HOST", "localhost")
EMAIL_PORT = _email.get("EMAIL_PORT", 25)
EMAIL_HOST_USER = _email.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = _email.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = _email.get("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = _email.get("EMAIL_USE_SSL", False)
EMAIL_FILE_PATH = _email.get("EMAIL_FILE_PATH")
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Todo reminders <todo@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# Seconds each SMTP step (connect, each command) may take: a stalled server cannot hold a worker.
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10, minimum=1, maximum=120)
# Deliveries on a channel (email, push) are retried with exponential backoff and jitter from
# NOTIFICATION_RETRY_BASE_SECONDS (capped at NOTIFICATION_RETRY_MAX_SECONDS) until this many attempts.
NOTIFICATION_MAX_ATTEMPTS = env_int("NOTIFICATION_MAX_ATTEMPTS", 5, minimum=1, maximum=50)
NOTIFICATION_RETRY_BASE_SECONDS = env_int("NOTIFICATION_RETRY_BASE_SECONDS", 30, minimum=1)
NOTIFICATION_RETRY_MAX_SECONDS = env_int("NOTIFICATION_RETRY_MAX_SECONDS", 3600, minimum=1)
# A delivery marked `sending` by a worker that then died is given up after this long (failed, not
# sent again: it may have gone out, and a notice is never sent twice).  Longer than the delivery job's
# hard time limit (90 s, workers/tasks.py), so a live worker's send is never given up on.
NOTIFICATION_SENDING_LEASE_SECONDS = env_int("NOTIFICATION_SENDING_LEASE_SECONDS", 300, minimum=120)


# --------------------------------------------------------------------------- Web Push (tasks_app.push)
# VAPID identifies this server to the browsers' push services (RFC 8292).  Give the key pair
# (VAPID_PRIVATE_KEY: base64url of the raw 32-byte key, or a PEM; VAPID_PUBLIC_KEY optional, checked
# against it; both take *_FILE) to keep it in your secret store; unset, one pair is generated on first
# use and kept in the database, encrypted under SECRET_KEY (tasks_app.push.vapid).  Changing the pair
# invalidates every browser's subscription.  VAPID_SUBJECT: how a push service reaches the operator.
VAPID_PRIVATE_KEY = env_str("VAPID_PRIVATE_KEY")
VAPID_PUBLIC_KEY = env_str("VAPID_PUBLIC_KEY")
VAPID_SUBJECT = env_str("VAPID_SUBJECT", "mailto:webmaster@localhost")
if not VAPID_SUBJECT.startswith(("mailto:", "https://")):
    raise ImproperlyConfigured(f"VAPID_SUBJECT={VAPID_SUBJECT!r} must be a mailto: or https:// URL")
# Endpoints must be https URLs on these push services (a host or a parent domain; `*`: any public
# host).  A user sends the endpoint, so this keeps the server from POSTing anywhere else (SSRF);
# every address a host resolves to is checked again when sending (tasks_app.webhooks.network).
PUSH_ENDPOINT_HOSTS = env_list("PUSH_ENDPOINT_HOSTS", [
    "fcm.googleapis.com",  # Chrome, Edge on Android, Brave, Opera, Samsung Internet
    "push.services.mozilla.com",  # Firefox
    "push.apple.com",  # Safari (web.push.apple.com)
    "notify.windows.com",  # Edge on Windows (WNS)
])
# Only for tests and local development with a push service on this machine: endpoints on loopback
# addresses (127.0.0.0/8, ::1), over http too.  Never in production.
PUSH_ALLOW_LOOPBACK = env_bool("PUSH_ALLOW_LOOPBACK", False)
PUSH_CONNECT_TIMEOUT = env_int("PUSH_CONNECT_TIMEOUT", 3, minimum=1)
PUSH_READ_TIMEOUT = env_int("PUSH_READ_TIMEOUT", 5, minimum=1)
PUSH_TOTAL_TIMEOUT = env_int("PUSH_TOTAL_TIMEOUT", 10, minimum=1)
# How long a push service keeps a message for a device that is offline (the TTL header).
PUSH_TTL_SECONDS = env_int("PUSH_TTL_SECONDS", 24 * 3600, minimum=0, maximum=28 * 24 * 3600)
QUOTA_PUSH_SUBSCRIPTIONS_PER_USER = env_int("QUOTA_PUSH_SUBSCRIPTIONS_PER_USER", 10, minimum=1)

# --------------------------------------------------------------------------- retention (beat job workers.prune_retention)

# Days kept; 0 keeps forever.  Published outbox rows (never unpublished or parked ones, nor
# one the audit trail lacks), audit rows, notifications read that long ago, conversations
# idle that long (with their messages).
OUTBOX_RETENTION_DAYS = env_int("OUTBOX_RETENTION_DAYS", 7, minimum=0)
AUDIT_RETENTION_DAYS = env_int("AUDIT_RETENTION_DAYS", 365, minimum=0)
NOTIFICATION_RETENTION_DAYS = env_int("NOTIFICATION_RETENTION_DAYS", 30, minimum=0)
WEBHOOK_DELIVERY_RETENTION_DAYS = env_int("WEBHOOK_DELIVERY_RETENTION_DAYS", 30, minimum=0)
CONVERSATION_RETENTION_DAYS = env_int("CONVERSATION_RETENTION_DAYS", 180, minimum=0)
# Undo (tasks_app.services.changes): a change can be undone for this many days (at least 1), and each
# user keeps at most this many recorded changes (older ones are pruned by the retention job).  A deleted
# task's snapshot lives that long too, so a delete can be undone within the window.
UNDO_RETENTION_DAYS = env_int("UNDO_RETENTION_DAYS", 7, minimum=1, maximum=365)
UNDO_HISTORY_PER_USER = env_int("UNDO_HISTORY_PER_USER", 500, minimum=1, maximum=100000)
# Actions one undo call may revert ("undo the last 3"), and tasks one bulk call may change.
UNDO_MAX_PER_CALL = env_int("UNDO_MAX_PER_CALL", 20, minimum=1, maximum=100)
BULK_MAX_TASKS = env_int("BULK_MAX_TASKS", 200, minimum=1, maximum=200)
# A bulk call (MCP bulk_*) that would change more tasks than this answers with a preview to confirm.
BULK_PREVIEW_ABOVE = env_int("BULK_PREVIEW_ABOVE", 3, minimum=0, maximum=200)
# Rows deleted per statement (each its own short transaction) and statements per table per
# run: a run never holds locks for long, and a large backlog drains over several runs.
# An audit row must outlive its outbox row: the lost-job sweeper audits every outbox row
# without one, so a shorter audit window would have old events audited again and again.
if AUDIT_RETENTION_DAYS and not (OUTBOX_RETENTION_DAYS and AUDIT_RETENTION_DAYS >= OUTBOX_RETENTION_DAYS):
    raise ImproperlyConfigured(f"AUDIT_RETENTION_DAYS={AUDIT_RETENTION_DAYS} must be 0 (keep forever) or at least "
                               f"OUTBOX_RETENTION_DAYS={OUTBOX_RETENTION_DAYS} (which must then be non-zero)")
# An Idempotency-Key's first answer is replayed for this long (and then pruned by the same job); a
# retry after it is a new request.
IDEMPOTENCY_KEY_TTL_HOURS = env_int("IDEMPOTENCY_KEY_TTL_HOURS", 24, minimum=1, maximum=24 * 30)
RETENTION_BATCH_SIZE = env_int("RETENTION_BATCH_SIZE", 1000, minimum=1)
RETENTION_MAX_BATCHES = env_int("RETENTION_MAX_BATCHES", 100, minimum=1)

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
# retention.ms given to the topics the app creates; unset (or 0) leaves the broker's default, -1 keeps forever.
KAFKA_TOPIC_RETENTION_MS = env_int("KAFKA_TOPIC_RETENTION_MS", 0, minimum=-1) or None
# Bytes of payload the Kafka sink reads per batch
# (a batch also stops at OUTBOX_BATCH_SIZE rows), so its memory stays flat whatever the payload sizes.
OUTBOX_BATCH_MAX_BYTES = env_int("OUTBOX_BATCH_MAX_BYTES", 4 * 1024 * 1024, minimum=64 * 1024)
# Failed deliveries after which an event is parked (set aside, visible in admin and metrics); errors of
# the message itself (too large, invalid) park it at once, broker outages never do.
OUTBOX_MAX_ATTEMPTS = env_int("OUTBOX_MAX_ATTEMPTS", 5, minimum=1)
# The producer's message.max.bytes: a larger event is parked before it is sent.  Keep it at most
# the topics' max.message.bytes on the broker (Kafka's default is about 1 MB).
KAFKA_MESSAGE_MAX_BYTES = env_int("KAFKA_MESSAGE_MAX_BYTES", 1_000_000, minimum=1000)
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
# Each request to the model gives up after this long; a turn makes at most LLM_MAX_TURNS of them.
OPENAI_TIMEOUT_SECONDS = env_int("OPENAI_TIMEOUT_SECONDS", 60, minimum=1)
LLM_MAX_TURNS = env_int("LLM_MAX_TURNS", 12, minimum=1)
# Chat messages a user may send to the model per UTC day (a Redis counter); past it POST /api/chat
# answers 429.  The offline assistant (no OPENAI_API_KEY) is not counted.
LLM_DAILY_MESSAGES_PER_USER = env_int("LLM_DAILY_MESSAGES_PER_USER", 200, minimum=0)
# A tool result is cut to this many characters before the model reads it (with a note saying how
# to narrow the call), so one big list cannot flood the model's context or the day's token spend.
LLM_TOOL_RESULT_MAX_CHARS = env_int("LLM_TOOL_RESULT_MAX_CHARS", 8000, minimum=500)
# "Delete/complete these N tasks?" waits this long for the user's yes (chat_app.confirmations).
CHAT_CONFIRMATION_TTL_SECONDS = env_int("CHAT_CONFIRMATION_TTL_SECONDS", 600, minimum=10)

# --------------------------------------------------------------------------- logging and metrics

LOG_LEVEL = env_str("LOG_LEVEL", "INFO")
# `text` (default): one readable line per record, request id in brackets.  `json`: one JSON object per
# line for every record (todo_project/json_logs.py), for a log pipeline; the chart sets it.
LOG_FORMAT = (env_str("LOG_FORMAT", "text") or "text").strip().lower()
if LOG_FORMAT not in {"text", "json"}:
    raise ImproperlyConfigured(f"LOG_FORMAT={LOG_FORMAT!r} is not text or json")
# The access log: one `todo.access` line per HTTP request (method, path, status, duration, user, request
# id); off with LOG_ACCESS=false when a proxy already writes one.
LOG_ACCESS = env_bool("LOG_ACCESS", True)
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "request_id": {"()": "todo_project.request_id.RequestIdFilter"},
    },
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
        "json": {"()": "todo_project.json_logs.JsonFormatter"},
        # Audit lines are JSON already; print them as they are.
        "message": {"format": "%(message)s"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "filters": ["request_id"],
                    "formatter": "json" if LOG_FORMAT == "json" else "plain"},
        "audit": {"class": "logging.StreamHandler", "formatter": "message"},
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "todo.audit": {"handlers": ["audit"], "level": "INFO", "propagate": False},
        "todo.access": {"level": "INFO" if LOG_ACCESS else "CRITICAL"},
        "django.db.backends": {"level": "INFO"},
    },
}

# Prometheus metrics of the Celery worker (the web process serves its own on /metrics);
# a pod sets the address to 0.0.0.0 (the Helm chart does).  Port 0 turns the endpoint off.
WORKER_METRICS_PORT = env_int("WORKER_METRICS_PORT", 9808, minimum=0)
WORKER_METRICS_ADDR = env_str("WORKER_METRICS_ADDR", "127.0.0.1")
# Set for Celery worker processes only (the image's entrypoint, `make run` and the chart do): the
# folder where prometheus_client's multiprocess mode keeps each pool process's counters
# (workers/metrics.py).  prometheus_client reads the variable itself; the folder must exist before
# the first metric is made, which is after settings load, so it is made here.
PROMETHEUS_MULTIPROC_DIR = env_str("PROMETHEUS_MULTIPROC_DIR")
if PROMETHEUS_MULTIPROC_DIR:
    Path(PROMETHEUS_MULTIPROC_DIR).mkdir(parents=True, exist_ok=True)
# --------------------------------------------------------------------------- internal port: detailed health and metrics

# The web process serves detailed health (/healthz with every component) and /metrics on a second
# port that the ingress never routes to (todo_project/internal.py); the public /healthz only asks
# the database.  0 turns the internal port off.  A pod listens on 0.0.0.0 (the chart sets it).
INTERNAL_PORT = env_int("INTERNAL_PORT", 9100, minimum=0)
INTERNAL_ADDR = env_str("INTERNAL_ADDR", "127.0.0.1")

# HSTS preload is opt-in (SECURE_HSTS_PRELOAD=true): it hard-codes HTTPS for the domain and every
# subdomain in browsers for months.  Not asking for it is a decision, so `check --deploy` does not
# warn about it (security.W021); everything else it checks still applies.
SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]

# The secret iCalendar feed (tasks_app.calendar_feed): at most this many open dated tasks, soonest due
# first, so one request's cost is bounded whatever the user has; subscribing apps may keep a copy
# this many seconds before asking again (and then get 304 when nothing changed).
CALENDAR_FEED_MAX_TASKS = env_int("CALENDAR_FEED_MAX_TASKS", 2000, minimum=1, maximum=20000)
CALENDAR_FEED_MAX_AGE_SECONDS = env_int("CALENDAR_FEED_MAX_AGE_SECONDS", 300, minimum=0, maximum=86400)
