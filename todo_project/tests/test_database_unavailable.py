"""A request whose database backend is terminated mid-request is answered 503 with Retry-After, not 500."""

import json
import threading

import psycopg
from django.conf import settings
from django.db import connection

from devstack.testing import wait_until
from tasks_app import services


def test_a_backend_terminated_mid_request_answers_503_with_retry_after(transactional_db, alice, alice_api):
    task = services.task_create(user=alice, title="Locked")
    settings_dict = connection.settings_dict
    params = {"host": settings_dict["HOST"], "port": settings_dict["PORT"], "user": settings_dict["USER"],
              "dbname": settings_dict["NAME"]}
    blocker = psycopg.connect(**params)
    # Autocommit: pg_stat_activity is read afresh each time (it is a snapshot within a transaction).
    killer = psycopg.connect(**params, autocommit=True)
    answers = []
    try:
        blocker.execute("SELECT 1 FROM tasks_app_task WHERE id = %s FOR UPDATE", [task.pk])
        def send():
            try:
                answers.append(alice_api.patch(f"/api/tasks/{task.pk}", json.dumps({"title": "Changed"}),
                                               content_type="application/json"))
            finally:
                connection.close()  # this thread's own connection

        request = threading.Thread(target=send)
        request.start()
        # The request's backend waits on the row lock: terminate it, as an operator or a failover would.
        wait_until(lambda: killer.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
            "AND datname = current_database() AND pid <> pg_backend_pid()").fetchall(),
            message="the request to wait on the lock")
        request.join(timeout=30)
    finally:
        blocker.rollback()
        blocker.close()
        killer.close()
    [response] = answers
    assert response.status_code == 503, response.content
    assert response["Retry-After"] == str(settings.DB_RETRY_AFTER_SECONDS)
    assert "database connection was lost" in response.json()["detail"]
    assert response.json()["type"] == "/problems/database-unavailable"
    task.refresh_from_db()
    assert task.title == "Locked"
