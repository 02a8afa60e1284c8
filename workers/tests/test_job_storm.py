"""No job storm: a transaction queues one sink kick, one audit job and one live push job per
user, however many events it records — counted in the real Redis broker's queues — and with
a real worker every one of those events still reaches Kafka and the audit trail."""

from __future__ import annotations

import base64
import json

import pytest
import redis
from django.conf import settings
from django.db import transaction

from conftest import purge_celery_queues
from devstack.testing import read_topic, wait_until
from tasks_app import services
from tasks_app.models import AuditLog, OutboxEvent, Tag, Task
from workers import dispatch

TASKS = 2000


def broker() -> redis.Redis:
    return redis.Redis.from_url(settings.CELERY_BROKER_URL)


def queued() -> dict[str, list[tuple[str, list]]]:
    """Every message waiting in each Celery queue (a Redis list per queue): (task name, args)."""
    found = {}
    for queue in settings.CELERY_TASK_QUEUES:
        messages = []
        for raw in broker().lrange(queue.name, 0, -1):
            envelope = json.loads(raw)
            body = envelope["body"]
            if envelope["properties"].get("body_encoding") == "base64":
                body = base64.b64decode(body)
            messages.append((envelope["headers"]["task"], json.loads(body)[0]))
        found[queue.name] = messages
    return found


def lengths() -> dict[str, int]:
    return {queue.name: broker().llen(queue.name) for queue in settings.CELERY_TASK_QUEUES}


def clear_queues() -> None:
    purge_celery_queues()
    broker().delete(dispatch.SINK_PENDING_KEY)


@pytest.fixture
def tagged_tasks(transactional_db, alice):
    tag = Tag.objects.create(user=alice, name="work")
    tasks = Task.objects.bulk_create([Task(user=alice, title=f"Task {n}") for n in range(TASKS)])
    Task.tags.through.objects.bulk_create([Task.tags.through(task_id=t.pk, tag_id=tag.pk) for t in tasks])
    return tasks


def test_renaming_a_tag_on_2000_tasks_queues_a_handful_of_jobs_and_every_event_arrives(
        tagged_tasks, alice, celery_processes):
    clear_queues()
    services.tag_rename(user=alice, name="work", new_name="job")
    assert OutboxEvent.objects.count() == TASKS
    # No worker runs yet: the queues hold exactly what the commit dispatched.
    assert lengths() == {"events": 1, "default": 1, "live": 1, "maintenance": 0, "webhooks": 0}
    messages = queued()
    assert [name for name, _ in messages["events"]] == ["workers.publish_outbox"]
    [(audit_job, [audited])] = messages["default"]
    [(live_job, [pushed])] = messages["live"]
    every_event = {str(e) for e in OutboxEvent.objects.values_list("event_id", flat=True)}
    assert (audit_job, set(audited)) == ("workers.record_audit_batch", every_event)
    assert (live_job, set(pushed)) == ("workers.push_live_updates", every_event)

    # While that kick waits, further commits add no sink kick (their rows are read by it).
    for n in range(5):
        services.task_create(user=alice, title=f"Later {n}")
    assert lengths()["events"] == 1
    assert lengths()["default"] == 6, "one audit job per transaction"

    # A real worker: every event reaches Kafka once published, every audit row is written.
    celery_processes.worker()
    wait_until(lambda: not OutboxEvent.objects.filter(published_at__isnull=True).exists(), timeout=90,
               message="every event published")
    wait_until(lambda: AuditLog.objects.count() == TASKS + 5, timeout=60, message="an audit row per event")
    ours = {str(e) for e in OutboxEvent.objects.values_list("event_id", flat=True)}
    got = read_topic(settings.KAFKA_BOOTSTRAP_SERVERS, "task-events",
                     until=lambda got: ours <= {value["id"] for *_, value in got}, timeout=60)
    assert ours <= {value["id"] for *_, value in got}
    assert set(AuditLog.objects.values_list("event_id", flat=True)) == set(OutboxEvent.objects.values_list(
        "event_id", flat=True))


def test_a_batch_survives_a_rolled_back_savepoint(transactional_db, alice):
    """Events recorded after a savepoint rollback still get their audit job: the batch
    registered inside the rolled-back savepoint is dropped with it, and a new one starts."""
    clear_queues()
    with transaction.atomic():
        with pytest.raises(RuntimeError), transaction.atomic():
            services.task_create(user=alice, title="Rolled back")
            raise RuntimeError
        kept = services.task_create(user=alice, title="Kept")
    [(name, [event_ids])] = queued()["default"]
    assert event_ids == [str(OutboxEvent.objects.get(task_id=kept.pk).event_id)]
    assert lengths()["events"] == 1


def test_a_sink_kick_lost_with_its_worker_is_covered_by_beat(celery_processes, alice):
    """The pending key is set but its kick never runs (the job is purged, as a lost message):
    the beat's sink run still publishes the next commit's events."""
    clear_queues()
    services.task_create(user=alice, title="First")
    purge_celery_queues()  # the kick is lost; its pending key remains
    assert broker().exists(dispatch.SINK_PENDING_KEY)
    services.task_create(user=alice, title="Second")
    assert lengths()["events"] == 0, "coalesced into the lost kick"
    celery_processes.worker()
    celery_processes.beat({"OUTBOX_SWEEP_INTERVAL": "1"})
    wait_until(lambda: not OutboxEvent.objects.filter(published_at__isnull=True).exists(), timeout=60,
               message="both events published by the beat's sink run")


def test_the_lost_job_sweep_waits_while_the_default_queue_has_a_backlog(transactional_db, alice, settings):
    """Re-sending queued-but-not-yet-run work every sweep would feed the backlog it waits in."""
    from workers import tasks as jobs

    settings.JOB_SWEEP_GRACE_SECONDS = 0
    clear_queues()
    services.task_create(user=alice, title="Not yet audited")
    for _ in range(jobs.SWEEP_BACKLOG_LIMIT):
        jobs.record_audit_batch.delay([])
    backlog = lengths()["default"]
    assert backlog > jobs.SWEEP_BACKLOG_LIMIT
    assert jobs.sweep_lost_jobs() == {"audit": 0, "recurrence": 0}
    assert lengths()["default"] == backlog
    clear_queues()
    assert jobs.sweep_lost_jobs() == {"audit": 1, "recurrence": 0}
    [(name, [event_ids])] = queued()["default"]
    assert name == "workers.record_audit_batch" and len(event_ids) == 1
