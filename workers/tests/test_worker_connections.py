"""A Celery pool process keeps its database connection from one job to the next (a new connection
cost more CPU than most jobs), and a kept connection the server has dropped is replaced before a
job uses it, not failed on."""

from __future__ import annotations

import pytest
from django.db import connection, transaction

from devstack.testing import wait_until
from tasks_app import services
from tasks_app.models import AuditLog, OutboxEvent


def worker_backends() -> dict[int, object]:
    """Backends of this test database other than the test's own: pid -> when it connected."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pid, backend_start FROM pg_stat_activity "
                       "WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'")
        return dict(cursor.fetchall())


def create_and_wait(user, title: str) -> None:
    """A create, then until its event is published and audited: the sink, audit and live jobs ran."""
    task = services.task_create(user=user, title=title)
    wait_until(lambda: AuditLog.objects.filter(task_id=task.pk).exists()
               and not OutboxEvent.objects.filter(task_id=task.pk, published_at__isnull=True).exists(),
               timeout=30, message=f"{title!r} audited and published")


def test_pool_processes_keep_their_connection_between_jobs(celery_processes, alice):
    worker = celery_processes.worker(concurrency=1)  # one pool process: one connection to watch
    create_and_wait(alice, "First")
    kept = worker_backends()
    assert kept, "after its jobs, the worker still holds its connections"

    for n in range(10):  # 30 jobs and more, on the worker's two pool processes
        create_and_wait(alice, f"Task {n}")
    assert worker_backends() == kept, "the same connections, not a new one per job"
    assert "OperationalError" not in worker.output()


def test_a_kept_connection_the_server_dropped_is_replaced_before_a_job_uses_it(celery_processes, alice):
    worker = celery_processes.worker(concurrency=1)  # one pool process: one connection to watch
    create_and_wait(alice, "Before")
    dropped = worker_backends()
    assert dropped
    with connection.cursor() as cursor:  # as a database restart or an idle timeout would
        cursor.execute("SELECT pg_terminate_backend(pid) FROM unnest(%s::int[]) AS pid", [list(dropped)])
    wait_until(lambda: not set(worker_backends()) & set(dropped), timeout=10, message="backends gone")

    create_and_wait(alice, "After")
    assert not set(worker_backends()) & set(dropped), "new connections"
    # Checked before use (CONN_HEALTH_CHECKS, armed before each job): no job met the dead connection.
    log = worker.output()
    assert "OperationalError" not in log and "Retry in" not in log and "terminating connection" not in log, log[-3000:]


@pytest.mark.django_db(transaction=True)
def test_a_job_run_in_the_callers_process_leaves_its_transaction_alone(alice):
    """retire_connections runs around every job, but a job applied in process (`apply()`) shares the
    caller's connection: closing it as "left mid-transaction" would break the caller's transaction."""
    from workers import tasks as jobs

    with transaction.atomic():
        task = services.task_create(user=alice, title="Inside a transaction")
        jobs.record_audit_batch.apply(args=([],))
        assert services.task_update(task=task, priority="P1").priority == "P1"
    assert OutboxEvent.objects.filter(task_id=task.pk).count() == 2
