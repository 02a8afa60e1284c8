"""Database limits by kind of process.

Every connection starts with the web limits (DB_STATEMENT_TIMEOUT_MS, DB_LOCK_TIMEOUT_MS; set as
startup options in settings.DATABASES).  Two kinds of work are not web requests and get other
limits here: `manage.py migrate` runs without any (a migration that rewrites a large table must
not be cut halfway), and Celery workers use DB_WORKER_* (their jobs have time limits of their own;
their connections are kept between jobs, DB_WORKER_CONN_MAX_AGE).
"""

from __future__ import annotations

from celery import signals as celery_signals
from django.conf import settings
from django.db import connections
from django.db.models.signals import pre_migrate


def startup_options(*, statement_timeout_ms: int, lock_timeout_ms: int) -> str:
    """libpq `options` that set the two limits when a connection starts (0 = no limit)."""
    return f"-c statement_timeout={statement_timeout_ms} -c lock_timeout={lock_timeout_ms}"


def lift_limits_for_migrations(sender=None, using="default", **kwargs) -> None:
    """pre_migrate: this connection (the one migrations run on) has no statement or lock timeout
    for the rest of its session."""
    with connections[using].cursor() as cursor:
        cursor.execute("SET statement_timeout = 0")
        cursor.execute("SET lock_timeout = 0")


def use_worker_limits(**kwargs) -> None:
    """Celery worker start (main process and each pool process): connections opened from now on
    use DB_WORKER_STATEMENT_TIMEOUT_MS and DB_WORKER_LOCK_TIMEOUT_MS, and are kept between jobs
    for DB_WORKER_CONN_MAX_AGE seconds (unless a pool keeps them already)."""
    options = startup_options(statement_timeout_ms=settings.DB_WORKER_STATEMENT_TIMEOUT_MS,
                              lock_timeout_ms=settings.DB_WORKER_LOCK_TIMEOUT_MS)
    for alias in connections:
        for settings_dict in (connections.settings[alias], connections[alias].settings_dict):
            settings_dict.setdefault("OPTIONS", {})["options"] = options
            if "pool" not in settings_dict["OPTIONS"]:
                settings_dict["CONN_MAX_AGE"] = settings.DB_WORKER_CONN_MAX_AGE
        connections[alias].close()


def retire_connections(task=None, **kwargs) -> None:
    """Before and after each Celery job: close this process's connections that are older than their
    CONN_MAX_AGE, broken, or left mid-transaction, and have the next job's first query check the
    one it keeps (CONN_HEALTH_CHECKS) — what Django does around each request.  Not around a job run
    in the caller's process (`apply()`): the connection is the caller's, maybe inside its transaction."""
    if task is not None and getattr(task.request, "is_eager", False):
        return
    for connection in connections.all(initialized_only=True):
        if not connection.in_atomic_block:
            connection.close_if_unusable_or_obsolete()


def connect_receivers() -> None:
    pre_migrate.connect(lift_limits_for_migrations, dispatch_uid="todo_project.database.migrate")
    # worker_init fires in the worker's main process (every pool), worker_process_init in each
    # prefork child; either alone may come before or after this module is loaded.
    celery_signals.worker_init.connect(use_worker_limits, weak=False, dispatch_uid="todo-db-worker-init")
    celery_signals.worker_process_init.connect(use_worker_limits, weak=False, dispatch_uid="todo-db-worker-proc")
    celery_signals.task_prerun.connect(retire_connections, weak=False, dispatch_uid="todo-db-task-prerun")
    celery_signals.task_postrun.connect(retire_connections, weak=False, dispatch_uid="todo-db-task-postrun")
