"""Failures: the broker goes away, a worker is SIGKILLed mid-job. Nothing is lost; nothing is done twice.

Kafka delivery is at least once by design (docs/events.md): a sink killed after
the broker acknowledged a batch but before the database recorded it sends that
batch again, with the same CloudEvents ids.  These tests check that every event
arrives, that repeats carry the same id and only come from the batch in flight,
and that database effects (next occurrence, published marks) happen exactly once.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from datetime import timedelta

import psycopg
import pytest
from django.db import connection
from django.utils import timezone

from devstack.servers import Kafka
from devstack.testing import read_topic, wait_until
from tasks_app import services
from tasks_app.models import OutboxEvent, Task
from workers import tasks as jobs


@pytest.fixture
def own_broker(tmp_path):
    """A Kafka-protocol broker of this test's own, so stopping it disturbs no other test."""
    broker = Kafka(tmp_path / "kafka").start()
    yield broker
    broker.stop()


def fast_env(broker: Kafka, **extra) -> dict[str, str]:
    return {"KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap_servers, "KAFKA_DELIVERY_TIMEOUT_SECONDS": "2",
            "OUTBOX_SWEEP_INTERVAL": "1", "JOB_SWEEP_INTERVAL": "1", "JOB_SWEEP_GRACE_SECONDS": "0",
            "REMINDER_SCAN_INTERVAL": "3600", **{key: str(value) for key, value in extra.items()}}


def raw_connection():
    settings_dict = connection.settings_dict
    return psycopg.connect(host=settings_dict["HOST"], port=settings_dict["PORT"], user=settings_dict["USER"],
                           dbname=settings_dict["NAME"])


def read_through_sentinels(bootstrap_servers: str, topic: str) -> list:
    """Every message of `topic`, read until a sentinel written now to each partition is seen: a
    repeat sent before this point is then in the list (a positive marker, not a second of silence).
    The sentinels themselves are left out."""
    import uuid

    from confluent_kafka import Producer
    from confluent_kafka.admin import AdminClient

    partitions = AdminClient({"bootstrap.servers": bootstrap_servers}).list_topics(topic, timeout=10).topics[topic]
    run = uuid.uuid4().hex
    sentinels = {f"sentinel-{run}-{partition}" for partition in partitions.partitions}
    producer = Producer({"bootstrap.servers": bootstrap_servers})
    for partition in partitions.partitions:
        producer.produce(topic, key=b"sentinel", value=json.dumps({"id": f"sentinel-{run}-{partition}"}),
                         partition=partition)
    assert producer.flush(30) == 0, "sentinels not delivered"
    messages = read_topic(bootstrap_servers, topic, idle=0, timeout=60,
                          until=lambda got: sentinels <= {value["id"] for *_, value in got})
    assert sentinels <= {value["id"] for *_, value in messages}, "the sentinels were not read back"
    return [message for message in messages if message[3]["id"] not in sentinels]


def assert_per_task_order(messages, outbox_order: dict[str, int]) -> None:
    """Within each key (task), first sightings of event ids follow the outbox (commit) order."""
    seen: set[str] = set()
    per_key: dict[str, list[int]] = defaultdict(list)
    for _, _, key, value in messages:
        if value["id"] in outbox_order and value["id"] not in seen:
            seen.add(value["id"])
            per_key[key].append(outbox_order[value["id"]])
    for key, order in per_key.items():
        assert order == sorted(order), f"events of task {key} out of order"


def test_broker_outage_loses_nothing_and_the_running_worker_recovers(celery_processes, own_broker, alice_api):
    env = fast_env(own_broker)
    worker = celery_processes.worker(env)
    celery_processes.beat(env)
    own_broker.stop()

    for n in range(100):  # 100 creations + 400 updates = 500 changes, each answered normally
        response = alice_api.post("/api/tasks", json.dumps({"title": f"Offline {n}"}), content_type="application/json")
        assert response.status_code == 201
        for step in range(4):
            patched = alice_api.patch(f"/api/tasks/{response.json()['id']}", json.dumps({"description": f"v{step}"}),
                                      content_type="application/json")
            assert patched.status_code == 200
    assert OutboxEvent.objects.count() == 500
    wait_until(lambda: OutboxEvent.objects.filter(attempts__gt=0).exists(), timeout=30,
               message="the sink to try and fail while the broker is down")
    assert not OutboxEvent.objects.filter(published_at__isnull=False).exists()

    restarted = Kafka(own_broker.data_dir, port=own_broker.port).start()  # same address; its memory is empty
    try:
        wait_until(lambda: not OutboxEvent.objects.filter(published_at__isnull=True).exists(), timeout=90,
                   message="the worker to publish the backlog after the broker returned")
        assert worker.poll() is None, "recovered without a restart"
        outbox_order = {str(event_id): pk for pk, event_id in OutboxEvent.objects.values_list("pk", "event_id")}
        messages = read_through_sentinels(restarted.bootstrap_servers, "task-events")
    finally:
        restarted.stop()
    ids = Counter(value["id"] for *_, value in messages)
    assert set(ids) == set(outbox_order), "every event arrived"
    assert max(ids.values()) == 1, "none twice"
    assert_per_task_order(messages, outbox_order)


def test_sink_killed_mid_batch_loses_nothing_and_repeats_only_what_was_not_yet_recorded(
        celery_processes, own_broker, alice):
    for n in range(400):
        services.task_create(user=alice, title=f"Event {n}")
    events = list(OutboxEvent.objects.order_by("pk").values_list("pk", "event_id"))
    outbox_order = {str(event_id): pk for pk, event_id in events}
    assert len(events) == 400
    blocker = raw_connection()
    try:
        # Hold a row lock on the 201st event: the sink sends everything (in batches of 50)
        # but blocks when it records that row as published — after Kafka acknowledged it.
        blocker.execute("SELECT 1 FROM tasks_app_outboxevent WHERE id = %s FOR UPDATE", [events[200][0]])
        env = fast_env(own_broker, OUTBOX_BATCH_SIZE=50)
        worker = celery_processes.worker(env)
        jobs.publish_outbox.delay()
        wait_until(lambda: blocker.execute("SELECT count(*) FROM pg_locks WHERE NOT granted").fetchone()[0] > 0,
                   timeout=60, message="the sink to block while recording what Kafka acknowledged")
        read_topic(own_broker.bootstrap_servers, "task-events",
                   until=lambda got: set(outbox_order) <= {v["id"] for *_, v in got})
        celery_processes.kill(worker)
        # The machine is gone, and its database session with it: the blocked UPDATE never runs.
        blocker.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE wait_event_type = 'Lock' AND datname = current_database()")
    finally:
        blocker.rollback()
        blocker.close()
    unrecorded = {str(event_id) for event_id in
                  OutboxEvent.objects.filter(published_at__isnull=True).values_list("event_id", flat=True)}
    assert str(events[200][1]) in unrecorded

    celery_processes.worker(env)
    celery_processes.beat(env)
    wait_until(lambda: not OutboxEvent.objects.filter(published_at__isnull=True).exists(), timeout=90,
               message="the rest published after the restart")
    messages = read_through_sentinels(own_broker.bootstrap_servers, "task-events")
    ids = Counter(value["id"] for *_, value in messages)
    assert set(ids) == set(outbox_order), "nothing lost"
    repeated = {event_id for event_id, count in ids.items() if count > 1}
    assert repeated == unrecorded, "what was not recorded is sent again (same ids), and only that"
    assert max(ids.values()) == 2
    assert_per_task_order(messages, outbox_order)


def test_recurrence_job_killed_mid_transaction_still_spawns_exactly_once(celery_processes, own_broker, alice):
    task = services.task_create(user=alice, title="Pay rent", recurrence="monthly",
                                due_at=timezone.now() + timedelta(days=3))
    blocker = raw_connection()
    services.task_complete(task=task)  # queues the recurrence job; no worker runs yet
    env = fast_env(own_broker)
    try:
        blocker.execute("SELECT 1 FROM tasks_app_task WHERE id = %s FOR UPDATE", [task.pk])
        worker = celery_processes.worker(env)
        wait_until(lambda: blocker.execute("SELECT count(*) FROM pg_locks WHERE NOT granted").fetchone()[0] > 0,
                   message="the recurrence job to wait on the task's row")
        celery_processes.kill(worker)
    finally:
        blocker.rollback()
        blocker.close()
    assert not Task.objects.filter(previous_occurrence=task).exists()

    celery_processes.worker(env)
    celery_processes.beat(env)  # the sweeper re-dispatches the job the killed worker never acknowledged
    wait_until(lambda: Task.objects.filter(previous_occurrence=task).exists(), timeout=60,
               message="the next occurrence after the restart")
    for _ in range(3):  # redeliveries of the original message change nothing
        jobs.spawn_next_occurrence.delay(task.pk)
    wait_until(lambda: not OutboxEvent.objects.filter(published_at__isnull=True).exists(), timeout=60,
               message="events published")
    assert Task.objects.filter(previous_occurrence=task).count() == 1
    assert Task.objects.filter(title="Pay rent").count() == 2
