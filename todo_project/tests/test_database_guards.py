"""Web connections carry statement and lock timeouts and TCP keepalives; a timeout in a request is
a 503 with Retry-After, never a 500; `migrate` and Celery workers are not cut by the web limits."""

from contextlib import contextmanager

import psycopg
import pytest
from celery import signals as celery_signals
from django.core.management import call_command
from django.db import connection, connections

from tasks_app import services
from todo_project.database import startup_options


def show(setting: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SHOW {setting}")
        return cursor.fetchone()[0]


@contextmanager
def connection_options(options: str):
    """New connections of this process start with `options` (as a worker's or a migration's would)."""
    settings_dict = connections.settings["default"].setdefault("OPTIONS", {})
    before = settings_dict.get("options")
    settings_dict["options"] = options
    connection.close()
    try:
        yield
    finally:
        settings_dict["options"] = before
        connection.close()


@contextmanager
def row_locked_elsewhere(table: str, row_id: int):
    """Another session holds a row lock, as a long write by another request would."""
    params = connection.get_connection_params()
    with psycopg.connect(**{key: value for key, value in params.items() if key not in ("cursor_factory", "context")},
                         autocommit=False) as other:
        other.execute(f"SELECT 1 FROM {table} WHERE id = %s FOR UPDATE", [row_id])
        yield
        other.rollback()


@pytest.mark.django_db(transaction=True)
def test_web_connections_start_with_timeouts_and_keepalives(settings):
    connection.close()
    assert show("statement_timeout") == f"{settings.DB_STATEMENT_TIMEOUT_MS // 1000}s" == "5s"
    assert show("lock_timeout") == f"{settings.DB_LOCK_TIMEOUT_MS // 1000}s" == "3s"
    dsn = connection.connection.info.dsn
    assert "keepalives=1" in dsn and "keepalives_idle=30" in dsn


@pytest.mark.django_db(transaction=True)
def test_a_lock_timeout_in_a_request_is_a_503_with_retry_after(alice, alice_api):
    task = services.task_create(user=alice, title="held")
    with connection_options(startup_options(statement_timeout_ms=0, lock_timeout_ms=200)), \
            row_locked_elsewhere("tasks_app_task", task.pk):
        response = alice_api.patch(f"/api/tasks/{task.pk}", '{"title": "changed"}', content_type="application/json")
    assert response.status_code == 503, response.content
    assert response["Retry-After"] == "2"
    assert "lock timeout" in response.json()["detail"]


@pytest.mark.django_db(transaction=True)
def test_a_statement_timeout_in_a_request_is_a_503_with_retry_after(alice, alice_api):
    task = services.task_create(user=alice, title="held")
    with connection_options(startup_options(statement_timeout_ms=200, lock_timeout_ms=0)), \
            row_locked_elsewhere("tasks_app_task", task.pk):
        response = alice_api.post(f"/api/tasks/{task.pk}/complete")
    assert response.status_code == 503, response.content
    assert response["Retry-After"] == "2"
    assert "statement timeout" in response.json()["detail"]


@pytest.mark.django_db(transaction=True)
def test_migrate_runs_without_the_web_limits():
    connection.close()
    assert show("statement_timeout") == "5s"
    call_command("migrate", verbosity=0)
    assert (show("statement_timeout"), show("lock_timeout")) == ("0", "0")
    connection.close()


@pytest.mark.django_db(transaction=True)
def test_a_celery_worker_uses_the_worker_limits(settings):
    options = connections.settings["default"]["OPTIONS"]["options"]
    settings.DB_WORKER_STATEMENT_TIMEOUT_MS, settings.DB_WORKER_LOCK_TIMEOUT_MS = 60_000, 0
    try:
        celery_signals.worker_process_init.send(sender=None)
        assert (show("statement_timeout"), show("lock_timeout")) == ("1min", "0")
    finally:
        connections.settings["default"]["OPTIONS"]["options"] = options
        connection.close()
    assert show("statement_timeout") == "5s"
