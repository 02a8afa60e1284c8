"""A consumer written with the official CloudEvents SDK reads the Kafka messages.

The messages are produced by the real sink in a real Celery worker, consumed from the real
broker, and parsed by `cloudevents` 2.2 exactly as a third party would: the v1 Kafka binding
(`from_structured` / `from_binary`) and the 2.x core binding that detects the mode itself.
"""

from __future__ import annotations

import json
import uuid

from cloudevents.core.bindings import kafka as core_kafka
from cloudevents.v1.kafka import KafkaMessage, from_binary, from_structured
from confluent_kafka.admin import AdminClient, ConfigResource
from django.conf import settings

from devstack.testing import read_topic, wait_until
from tasks_app.models import OutboxEvent
from workers import kafka


def _published(task_id: int) -> str:
    wait_until(lambda: OutboxEvent.objects.filter(task_id=task_id, published_at__isnull=False).exists(),
               message="the created event published")
    return str(OutboxEvent.objects.get(task_id=task_id, type="todo.task.created").event_id)


def _message_with_id(bootstrap: str, topic: str, event_id: str, id_field: str):
    got = read_topic(bootstrap, topic, with_headers=True, idle=0.2,
                     until=lambda messages: any(m[3][id_field] == event_id for m in messages))
    _, _, key, value, headers = next(m for m in got if m[3][id_field] == event_id)
    return key.encode(), json.dumps(value).encode(), headers


def test_the_cloudevents_sdk_reads_task_created_from_task_events(celery_worker_process, alice_api):
    created = alice_api.post("/api/tasks", {"title": "Read me with the SDK", "priority": "P2", "tags": ["sdk"]},
                             content_type="application/json").json()
    event_id = _published(created["id"])
    key, value, headers = _message_with_id(settings.KAFKA_BOOTSTRAP_SERVERS, "task-events", event_id, "id")

    # Structured mode per the Kafka protocol binding: the header names the event format.
    assert headers["content-type"] == b"application/cloudevents+json"
    assert not [name for name in headers if name.startswith("ce_")], headers  # ce_* would mean binary mode

    event = from_structured(KafkaMessage(headers=headers, key=key, value=value))
    assert event["type"] == "todo.task.created"
    assert event["id"] == event_id
    assert event["subject"] == str(created["id"])
    assert event.data["task"]["title"] == "Read me with the SDK"
    assert event.data["task"]["tags"] == ["sdk"]

    # The 2.x SDK's own mode detection gets the same event.
    detected = core_kafka.from_kafka_event(core_kafka.KafkaMessage(headers=headers, key=key, value=value))
    assert (detected.get_type(), detected.get_id()) == ("todo.task.created", event_id)
    assert detected.get_data()["task"]["id"] == created["id"]


def test_task_updates_are_binary_mode_cloudevents(celery_worker_process, alice_api):
    created = alice_api.post("/api/tasks", {"title": "Live view"}, content_type="application/json").json()
    event_id = _published(created["id"])
    key, value, headers = _message_with_id(settings.KAFKA_BOOTSTRAP_SERVERS, "task-updates", event_id, "event_id")

    event = from_binary(KafkaMessage(headers=headers, key=key, value=value))
    assert (event["specversion"], event["type"], event["id"]) == ("1.0", "todo.task.created", event_id)
    assert event["source"] == settings.EVENT_SOURCE
    assert event.data["task"]["title"] == "Live view"  # the compact form is the data
    detected = core_kafka.from_kafka_event(core_kafka.KafkaMessage(headers=headers, key=key, value=value))
    assert detected.get_data()["task_id"] == created["id"]


def _retention(topic: str) -> str | None:
    admin = AdminClient({"bootstrap.servers": settings.KAFKA_BOOTSTRAP_SERVERS})
    [future] = admin.describe_configs([ConfigResource("topic", topic)]).values()
    entry = future.result(timeout=10).get("retention.ms")
    return entry.value if entry is not None else None


def test_topic_retention_is_configurable(settings):
    settings.KAFKA_TOPIC_RETENTION_MS = 3_600_000
    kept = f"retention-test-{uuid.uuid4().hex[:8]}"
    assert kafka.ensure_topics(names=(kept,)) == [kept]
    assert _retention(kept) == "3600000"

    settings.KAFKA_TOPIC_RETENTION_MS = None  # unset: the broker's default, nothing sent
    default = f"retention-test-{uuid.uuid4().hex[:8]}"
    assert kafka.ensure_topics(names=(default,)) == [default]
    assert _retention(default) != "3600000"
