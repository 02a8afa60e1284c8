"""A change and its event commit together or not at all; every event matches the published schema."""

from datetime import datetime, timezone

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction

from tasks_app import services
from tasks_app.models import OutboxEvent, Task

pytestmark = pytest.mark.django_db


def events_of(task_id):
    return list(OutboxEvent.objects.filter(task_id=task_id).order_by("id"))


def test_every_write_records_one_event_of_its_type(alice, event_validator):
    task = services.task_create(user=alice, title="Plan", tags=["work"], due_at=datetime(2027, 1, 1, tzinfo=timezone.utc),
                                reminder_minutes_before=10)
    services.task_update(task=task, title="Plan the offsite", tags=["work", "travel"])
    services.task_complete(task=task)
    services.task_reopen(task=task)
    services.task_delete(task=task)
    events = events_of(task.pk)
    assert [event.type for event in events] == ["todo.task.created", "todo.task.updated", "todo.task.completed",
                                                "todo.task.reopened", "todo.task.deleted"]
    for event in events:
        event_validator.validate(event.payload)
        assert event.payload["id"] == str(event.event_id)
        assert event.key == event.payload["subject"] == str(task.pk)
        assert event.topic == "task-events"
        assert event.published_at is None
    assert events[1].payload["data"]["changes"] == {
        "title": {"old": "Plan", "new": "Plan the offsite"},
        "tags": {"old": ["work"], "new": ["travel", "work"]},
    }
    assert events[-1].payload["data"]["task"]["title"] == "Plan the offsite", "deletion carries the last snapshot"


def test_a_change_rolled_back_leaves_no_event(alice):
    with pytest.raises(RuntimeError), transaction.atomic():
        services.task_create(user=alice, title="Never happened")
        raise RuntimeError("crash after the write, before commit")
    assert not Task.objects.exists()
    assert not OutboxEvent.objects.exists()


def test_a_rejected_change_leaves_no_event(alice):
    task = services.task_create(user=alice, title="Keep")
    with pytest.raises(ValidationError, match="priority"):
        services.task_update(task=task, title="ok", priority="P9")
    assert [event.type for event in events_of(task.pk)] == ["todo.task.created"]


def test_writes_that_change_nothing_record_nothing(alice):
    task = services.task_create(user=alice, title="Same", priority="P2")
    services.task_update(task=task, title="Same", priority="p2")
    services.task_reopen(task=task)  # not completed: nothing to reopen
    services.task_complete(task=task)
    services.task_complete(task=task)  # already completed
    assert [event.type for event in events_of(task.pk)] == ["todo.task.created", "todo.task.completed"]
