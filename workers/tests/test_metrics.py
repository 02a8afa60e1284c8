"""Outbox lag, Kafka publishing, Celery jobs and reminder scans are exported for Prometheus."""

import urllib.request

from datetime import timedelta

import pytest
from django.conf import settings
from django.db.models import F
from django.test import Client
from prometheus_client import CollectorRegistry, generate_latest, multiprocess
from prometheus_client.parser import text_string_to_metric_families

from devstack.servers import free_port
from devstack.testing import internal_get, wait_until
from tasks_app import services
from tasks_app.models import OutboxEvent
from workers import tasks as jobs


def scrape(text: str) -> dict[str, list]:
    return {family.name: family.samples for family in text_string_to_metric_families(text)}


def value(samples, **labels) -> float:
    # A counter's `_created` sample is a timestamp: summed in, any `>= 1` would always hold.
    return sum(sample.value for sample in samples if not sample.name.endswith("_created")
               and all(sample.labels.get(key) == wanted for key, wanted in labels.items()))


@pytest.mark.django_db
def test_outbox_lag_is_exported_on_the_web_metrics(alice):
    """On the web process's internal port (todo_project/internal.py), called in this transaction.
    One public request first: django-prometheus creates its per-view counters on the first request."""
    assert Client().get("/healthz").status_code == 200
    before = scrape(internal_get("/metrics")[1])
    services.task_create(user=alice, title="Pending event")
    # Five minutes old: an age of 0 (or one measured from the newest event) would be wrong.
    OutboxEvent.objects.filter(published_at__isnull=True).update(created_at=F("created_at") - timedelta(minutes=5))
    services.task_create(user=alice, title="Another, new")
    after = scrape(internal_get("/metrics")[1])
    unpublished = OutboxEvent.objects.filter(published_at__isnull=True).count()
    assert value(after["todo_outbox_unpublished_events"]) == unpublished >= 2
    assert 300 <= value(after["todo_outbox_oldest_unpublished_age_seconds"]) < 300 + 60
    requests = "django_http_requests_total_by_view_transport_method"
    healthz = {"view": "healthz", "method": "GET"}
    Client().get("/healthz")
    assert value(scrape(internal_get("/metrics")[1])[requests], **healthz) == value(before[requests], **healthz) + 1


def test_worker_serves_job_publish_and_scan_metrics(celery_processes, alice):
    port = free_port()
    celery_processes.worker({"WORKER_METRICS_PORT": str(port)})
    services.task_create(user=alice, title="Counted")
    jobs.scan_reminders.delay()
    wait_until(lambda: not OutboxEvent.objects.filter(published_at__isnull=True).exists(), message="published")

    def worker_metrics():
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
            families = scrape(response.read().decode())
        scanned = value(families.get("todo_reminder_scan_last_success_timestamp_seconds", [])) > 0
        return families if scanned and value(families.get("todo_kafka_events_published", []),
                                             topic="task-events") >= 1 else None

    families = wait_until(worker_metrics, timeout=30, interval=0.5, message="worker metrics")
    assert value(families["todo_kafka_events_published"], topic="task-updates") >= 1
    assert value(families["todo_celery_tasks"], task="workers.publish_outbox", state="success") >= 1
    assert value(families["todo_celery_task_duration_seconds"], task="workers.publish_outbox") >= 1
    assert value(families["todo_kafka_publish_failures"]) == 0
    assert {sample.labels["queue"] for sample in families["todo_celery_queue_length"]} == {
        queue.name for queue in settings.CELERY_TASK_QUEUES}
    assert value(families["todo_outbox_unpublished_events"]) == 0


def _multiprocess_totals(folder) -> dict[str, list]:
    """What prometheus_client's multiprocess mode adds up from `folder`, read in this process."""
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=str(folder))
    return scrape(generate_latest(registry).decode())


def _pids(folder) -> set[int]:
    return {int(path.stem.rpartition("_")[2]) for path in folder.glob("*.db")}


def test_worker_job_counters_are_the_pool_processes_files_added_up(celery_processes, alice, tmp_path):
    folder = tmp_path / "worker-metrics"
    worker = celery_processes.worker({"PROMETHEUS_MULTIPROC_DIR": str(folder)})
    task = services.task_create(user=alice, title="Counted by a pool process")
    wait_until(lambda: OutboxEvent.objects.filter(task_id=task.pk, published_at__isnull=False).exists(),
               message="published")

    def counted():
        totals = _multiprocess_totals(folder)
        done = value(totals.get("todo_celery_tasks", []), task="workers.publish_outbox", state="success")
        return totals if done >= 1 else None

    totals = wait_until(counted, timeout=30, interval=0.5, message="the sink job counted")
    assert value(totals["todo_kafka_events_published"], topic="task-events") >= 1
    assert value(totals["todo_kafka_events_published"], topic="task-updates") >= 1
    # Counted where the jobs ran: in the pool processes, not in the worker's main process.
    assert _pids(folder) - {worker.pid}


def test_a_restarted_worker_does_not_count_the_earlier_runs_jobs_again(celery_processes, alice, tmp_path):
    folder = tmp_path / "worker-metrics"
    first = celery_processes.worker({"PROMETHEUS_MULTIPROC_DIR": str(folder)})
    task = services.task_create(user=alice, title="Counted once")
    wait_until(lambda: OutboxEvent.objects.filter(task_id=task.pk, published_at__isnull=False).exists(),
               message="published")
    wait_until(lambda: value(_multiprocess_totals(folder).get("todo_celery_tasks", []),
                             task="workers.publish_outbox") >= 1, message="the sink job counted")
    earlier = _pids(folder)
    celery_processes.stop_all()
    assert first.poll() is not None

    celery_processes.worker({"PROMETHEUS_MULTIPROC_DIR": str(folder)})
    assert not earlier & _pids(folder), "files of the stopped worker's processes were left in the folder"
    assert value(_multiprocess_totals(folder).get("todo_celery_tasks", []), task="workers.publish_outbox") == 0
