"""The whole event path with a real Celery worker and the real Kafka-protocol broker."""

import json
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from devstack.testing import read_topic, wait_until
from tasks_app.models import AuditLog, OutboxEvent, Task


def test_completing_a_weekly_task_yields_one_next_occurrence_and_both_events_in_kafka(
        celery_worker_process, alice_api, event_validator):
    due = (timezone.now() + timedelta(days=2)).replace(microsecond=0)
    created = alice_api.post("/api/tasks", json.dumps({
        "title": "Weekly team standup", "priority": "P1", "tags": ["work", "meetings"], "recurrence": "weekly",
        "reminder_minutes_before": 30, "due_at": due.isoformat()}), content_type="application/json").json()
    assert alice_api.post(f"/api/tasks/{created['id']}/complete").status_code == 200

    following = wait_until(lambda: Task.objects.filter(previous_occurrence_id=created["id"]).first(),
                           message="the next occurrence")
    assert following.due_at == due + timedelta(weeks=1)
    assert Task.objects.filter(title="Weekly team standup").count() == 2

    wait_until(lambda: not OutboxEvent.objects.filter(published_at__isnull=True).exists(),
               message="every outbox row published")
    ours = {str(event_id) for event_id in OutboxEvent.objects.values_list("event_id", flat=True)}
    messages = read_topic(settings.KAFKA_BOOTSTRAP_SERVERS, "task-events",
                          until=lambda got: ours <= {value["id"] for *_, value in got})
    events = [value for *_, value in messages if value["id"] in ours]
    for event in events:
        event_validator.validate(event)
    completed = [e for e in events if e["type"] == "todo.task.completed" and e["subject"] == str(created["id"])]
    spawned = [e for e in events if e["type"] == "todo.task.created" and e["subject"] == str(following.pk)]
    assert len(completed) == 1 and len(spawned) == 1
    assert completed[0]["time"] < spawned[0]["time"]
    assert spawned[0]["data"]["task"]["previous_occurrence_id"] == created["id"]

    # Audit rows and the compact live stream for the same events.
    wait_until(lambda: AuditLog.objects.count() == OutboxEvent.objects.count(), message="audit of every event")
    updates = read_topic(settings.KAFKA_BOOTSTRAP_SERVERS, "task-updates",
                         until=lambda got: ours <= {value["event_id"] for *_, value in got})
    assert ours <= {value["event_id"] for *_, value in updates}


def test_topics_are_created_with_the_configured_partition_count(celery_worker_process):
    from confluent_kafka.admin import AdminClient

    metadata = AdminClient({"bootstrap.servers": settings.KAFKA_BOOTSTRAP_SERVERS}).list_topics(timeout=10)
    for topic in ("task-events", "reminders", "task-updates"):
        assert len(metadata.topics[topic].partitions) == settings.KAFKA_TOPIC_PARTITIONS
