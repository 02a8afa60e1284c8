"""Domain events as CloudEvents 1.0 (structured JSON), written to the outbox.

The schema is documented in docs/events.md and docs/events.schema.json.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from django.conf import settings
from django.utils import timezone

from .models import OutboxEvent, Task
from .signals import event_recorded

TASK_CREATED = "todo.task.created"
TASK_UPDATED = "todo.task.updated"
TASK_COMPLETED = "todo.task.completed"
TASK_REOPENED = "todo.task.reopened"
TASK_DELETED = "todo.task.deleted"
REMINDER_DUE = "todo.reminder.due"

TOPIC_TASK_EVENTS = "task-events"
TOPIC_REMINDERS = "reminders"
TOPIC_TASK_UPDATES = "task-updates"
TOPICS = (TOPIC_TASK_EVENTS, TOPIC_REMINDERS, TOPIC_TASK_UPDATES)

TOPIC_BY_TYPE = {
    TASK_CREATED: TOPIC_TASK_EVENTS,
    TASK_UPDATED: TOPIC_TASK_EVENTS,
    TASK_COMPLETED: TOPIC_TASK_EVENTS,
    TASK_REOPENED: TOPIC_TASK_EVENTS,
    TASK_DELETED: TOPIC_TASK_EVENTS,
    REMINDER_DUE: TOPIC_REMINDERS,
}


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def task_snapshot(task: Task) -> dict[str, Any]:
    """The task as events and live views carry it (the REST shape plus user_id)."""
    return {
        "id": task.pk,
        "user_id": task.user_id,
        "title": task.title,
        "description": task.description,
        "priority": task.priority,
        "tags": sorted((tag.name for tag in task.tags.all()), key=str.casefold),
        "due_at": _iso(task.due_at),
        "completed": task.completed,
        "completed_at": _iso(task.completed_at),
        "recurrence": task.recurrence,
        "reminder_minutes_before": task.reminder_minutes_before,
        "reminder_sent_at": _iso(task.reminder_sent_at),
        "previous_occurrence_id": task.previous_occurrence_id,
        "created_at": _iso(task.created_at),
        "updated_at": _iso(task.updated_at),
    }


def record(event_type: str, task: Task, *, snapshot: dict[str, Any] | None = None, **extra: Any) -> OutboxEvent:
    """Write the CloudEvent for `event_type` on `task` to the outbox.

    Call it inside the transaction of the change: the change and its event
    commit together or not at all.
    """
    now = timezone.now()
    event_id = uuid.uuid4()
    data = {"user_id": task.user_id, "task": snapshot or task_snapshot(task), **extra}
    cloud_event = {
        "specversion": "1.0",
        "id": str(event_id),
        "source": settings.EVENT_SOURCE,
        "type": event_type,
        "subject": str(task.pk),
        "time": now.isoformat(),
        "datacontenttype": "application/json",
        "data": data,
    }
    event = OutboxEvent.objects.create(
        event_id=event_id,
        type=event_type,
        topic=TOPIC_BY_TYPE[event_type],
        key=str(task.pk),
        user_id=task.user_id,
        task_id=task.pk,
        payload=cloud_event,
        created_at=now,
    )
    event_recorded.send(sender=OutboxEvent, event=event)
    return event


def live_update(*, event_id: str, event_type: str, task_id: int | None, user_id: int | None,
                payload: dict[str, Any]) -> dict[str, Any]:
    """The compact message for `task-updates` (and the live page): what changed, and the task now."""
    data = payload["data"]
    return {
        "event_id": str(event_id),
        "type": event_type,
        "task_id": task_id,
        "user_id": user_id,
        "time": payload["time"],
        "task": None if event_type == TASK_DELETED else data["task"],
        "changed": sorted(data.get("changes", {})),
    }
