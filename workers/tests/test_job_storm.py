"""No job storm: a transaction queues one sink kick, one audit drain and one live drain however
many events it records (its event ids go to the audit and live feeds), and later commits add no
job while those wait — counted in the real Redis broker's queues — and with a real worker every
one of those events still reaches Kafka and the audit trail."""

from __future__ import annotations

import base64
import json

import pytest
import redis
from django.conf import settings
from django.db import transaction

from conftest import forget_purged_kicks, purge_celery_queues
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
    forget_purged_kicks()


def fed(name: str) -> list[str]:
    """The event ids waiting in feed `name` (workers.dispatch.feed), in order."""
    return [item.decode() for item in broker().lrange(dispatch.feed_key(name), 0, -1)]


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
    assert messages["default"] == [("workers.drain_audit", [])]
    assert messages["live"] == [("workers.drain_live", [])]
    in_commit_order = [str(e) for e in OutboxEvent.objects.order_by("id").values_list("event_id", flat=True)]
    assert fed("audit") == in_commit_order
    assert fed("live") == in_commit_order

    # While those jobs wait, further commits add no job: their events join the feeds, their rows
    # are read by the waiting sink kick.
    for n in range(5):
        services.task_create(user=alice, title=f"Later {n}")
    assert lengths() == {"events": 1, "default": 1, "live": 1, "maintenance": 0, "webhooks": 0}
    assert len(fed("audit")) == len(fed("live")) == TASKS + 5

    # A real worker: every event reaches Kafka once published, every audit row is written.
    celery_processes.worker()
    wait_until(lambda: not OutboxEvent.objects.filter(published_at__isnull=True).exists(), timeout=90,
               message="every event published")
    wait_until(lambda: AuditLog.objects.count() == TASKS + 5, timeout=60, message="an audit row per event")
    wait_until(lambda: not fed("audit") and not fed("live"), timeout=30, message="both feeds drained")
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
    assert queued()["default"] == [("workers.drain_audit", [])]
    assert fed("audit") == [str(OutboxEvent.objects.get(task_id=kept.pk).event_id)]
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


def test_a_feed_whose_drain_was_lost_is_drained_after_the_sweep_kicks_it(transactional_db, alice):
    """The drain job is lost (purged) and its kick key has expired, and no commit comes to kick
    another: the lost-job sweep queues a drain for what waits in the feed."""
    from workers import tasks as jobs

    clear_queues()
    services.task_create(user=alice, title="Waiting in the feed")
    purge_celery_queues()
    forget_kicks = [key for key in broker().scan_iter(match="todo:*:kick-pending")]
    broker().delete(*forget_kicks)  # as if expired
    assert len(fed("audit")) == 1 and lengths()["default"] == 0
    assert jobs.sweep_lost_jobs() == {"audit": 0, "recurrence": 0}  # too fresh to re-send: only the kick
    assert queued()["default"] == [("workers.drain_audit", [])]
    assert jobs.drain_audit() == 1
    assert AuditLog.objects.count() == 1 and fed("audit") == []


def test_a_drain_that_fails_puts_its_items_back_in_order(transactional_db, alice):
    from workers import tasks as jobs

    clear_queues()
    for n in range(3):
        services.task_create(user=alice, title=f"Task {n}")
    before = fed("audit")
    assert len(before) == 3

    def failing(event_ids):
        raise RuntimeError("database went away")

    with pytest.raises(RuntimeError):
        jobs.drain("audit", failing, jobs.drain_audit)
    assert fed("audit") == before
    assert jobs.drain_audit() == 3


def test_the_live_drain_drops_pushes_older_than_a_minute(transactional_db, alice):
    from django.utils import timezone

    from workers import tasks as jobs

    clear_queues()
    old = services.task_create(user=alice, title="Long ago")
    services.task_create(user=alice, title="Just now")
    OutboxEvent.objects.filter(task_id=old.pk).update(created_at=timezone.now() - jobs.LIVE_PUSH_MAX_AGE * 2)
    assert len(fed("live")) == 2
    assert jobs.drain_live() == 1, "only the fresh event is pushed"
    assert fed("live") == []


def test_commits_while_a_drain_runs_queue_no_other_drain_and_it_takes_their_events(transactional_db, alice):
    from workers import tasks as jobs

    clear_queues()
    services.task_create(user=alice, title="First")
    purge_celery_queues()  # this test runs that drain itself; its kick stays claimed
    chunks = []

    def audit_and_commit_more(event_ids):
        chunks.append(len(event_ids))
        if len(chunks) == 1:
            for n in range(3):
                services.task_create(user=alice, title=f"During {n}")
        return services.audit_record_many(event_ids=event_ids)

    assert jobs.drain("audit", audit_and_commit_more, jobs.drain_audit) == 4
    assert chunks == [1, 3], "the drain took the events committed while it ran"
    assert lengths()["default"] == 0, "and those commits queued no other drain"
    assert not broker().exists("todo:audit:kick-pending"), "released once the feed was empty"
    services.task_create(user=alice, title="After")
    assert queued()["default"] == [("workers.drain_audit", [])], "a commit after it kicks again"


def test_a_commit_while_the_sink_publishes_queues_no_other_sink_run(transactional_db, alice, monkeypatch):
    from workers import outbox
    from workers import tasks as jobs

    clear_queues()
    services.task_create(user=alice, title="First")
    purge_celery_queues()  # this test runs that sink kick itself; the kick stays claimed
    original, rounds = outbox._drain, []

    def round_with_a_commit(result, deadline):
        rounds.append(1)
        if len(rounds) == 1:
            services.task_create(user=alice, title="During")
        return original(result, deadline)

    monkeypatch.setattr(outbox, "_drain", round_with_a_commit)
    assert jobs.publish_outbox() == 2
    assert lengths()["events"] == 0, "the commit during the run queued no other run"
    assert not OutboxEvent.objects.filter(published_at__isnull=True).exists()
    assert not broker().exists(dispatch.SINK_PENDING_KEY)
    services.task_create(user=alice, title="After")
    assert lengths()["events"] == 1, "a commit after the run kicks again"


def test_the_audit_drain_waits_half_a_second_for_more_commits_and_the_live_drain_does_not(transactional_db, alice):
    """Nobody waits for an audit row, so the commits of half a second share one audit job even when
    the worker is idle; a page waits for its live push, so that drain is not held back."""
    from datetime import datetime, timedelta

    from django.utils import timezone

    from workers import tasks as jobs

    clear_queues()
    before = timezone.now()
    services.task_create(user=alice, title="Audited a moment later")
    after = timezone.now()

    def eta(queue: str):
        [raw] = broker().lrange(queue, 0, -1)
        value = json.loads(raw)["headers"].get("eta")
        return datetime.fromisoformat(value) if value else None

    delay = timedelta(seconds=jobs.AUDIT_DRAIN_DELAY_SECONDS)
    assert before + delay <= eta("default") <= after + delay
    assert eta("live") is None
