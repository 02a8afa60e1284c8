"""Domain events as CloudEvents 1.0 (structured JSON), written to the outbox, and the
task's public shape they carry.

TASK_FIELDS is that shape, defined once: the events' task snapshot is built from it
here, and the REST/MCP output schema (tasks_app.schemas.TaskOut) is derived from it,
so a new field is added in one place.  The schema is documented in docs/events.md
and docs/events.schema.json.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from django.conf import settings
from django.utils import timezone

from todo_project import request_id

from .models import OutboxEvent, Task
from .signals import event_recorded

TASK_CREATED = "todo.task.created"
TASK_UPDATED = "todo.task.updated"
TASK_COMPLETED = "todo.task.completed"
TASK_REOPENED = "todo.task.reopened"
TASK_DELETED = "todo.task.deleted"
# A change reverted by undo (tasks_app.services.changes): data.undone names it, data.removed says
# whether the task is gone now (an undone creation) or is as data.task shows.
TASK_UNDONE = "todo.task.undone"
REMINDER_DUE = "todo.reminder.due"

TOPIC_TASK_EVENTS = "task-events"
TOPIC_REMINDERS = "reminders"
TOPIC_TASK_UPDATES = "task-updates"
TOPICS = (TOPIC_TASK_EVENTS, TOPIC_REMINDERS, TOPIC_TASK_UPDATES)

# The CloudEvents extension attribute naming the request that caused an event (extension names are
# lowercase letters and digits): top-level in the structured event, `ce_requestid` in binary mode.
REQUEST_ID_ATTRIBUTE = "requestid"

TOPIC_BY_TYPE = {
    TASK_CREATED: TOPIC_TASK_EVENTS,
    TASK_UPDATED: TOPIC_TASK_EVENTS,
    TASK_COMPLETED: TOPIC_TASK_EVENTS,
    TASK_REOPENED: TOPIC_TASK_EVENTS,
    TASK_DELETED: TOPIC_TASK_EVENTS,
    TASK_UNDONE: TOPIC_TASK_EVENTS,
    REMINDER_DUE: TOPIC_REMINDERS,
}


@dataclass(frozen=True)
class TaskField:
    """One field of the task's public shape; `in_api` False for the links that events carry
    (whose task, which occurrence it follows) but the REST API does not show."""

    name: str
    type: Any
    in_api: bool = True


# In the order events and the REST API list them.
TASK_FIELDS = (
    TaskField("id", int),
    TaskField("user_id", int, in_api=False),
    TaskField("title", str),
    TaskField("description", str),
    TaskField("priority", str),
    TaskField("tags", list[str]),
    TaskField("due_at", datetime | None),
    TaskField("completed", bool),
    TaskField("completed_at", datetime | None),
    TaskField("recurrence", str | None),
    TaskField("recurrence_from_completion", bool),
    # The rule in words (tasks_app.recurrence.describe), derived: never written.
    TaskField("recurrence_text", str | None),
    TaskField("reminder_minutes_before", int | None),
    TaskField("reminder_sent_at", datetime | None),
    TaskField("previous_occurrence_id", int | None, in_api=False),
    TaskField("created_at", datetime),
    TaskField("updated_at", datetime),
)


def task_tag_names(task: Task) -> list[str]:
    """The task's tag names as every surface lists them: by name, ignoring case.  A listed task
    (selectors.task_list) and one whose tags the services just wrote carry them already as `tag_names`;
    others read its tags."""
    names = getattr(task, "tag_names", None)
    if names is None:
        names = [tag.name for tag in task.tags.all()]
    return sorted(names, key=str.casefold)


def task_snapshot(task: Task) -> dict[str, Any]:
    """The task as events and live views carry it (the REST shape plus user_id and
    previous_occurrence_id), date-times as ISO 8601 text."""
    snapshot = {}
    for field in TASK_FIELDS:
        value = task_tag_names(task) if field.name == "tags" else getattr(task, field.name)
        snapshot[field.name] = value.isoformat() if isinstance(value, datetime) else value
    return snapshot


def record(event_type: str, task: Task, *, snapshot: dict[str, Any] | None = None, **extra: Any) -> OutboxEvent:
    """Write the CloudEvent for `event_type` on `task` to the outbox.

    Call it inside the transaction of the change: the change and its event
    commit together or not at all.  The id of the request (or job) that made the change, if any,
    goes with it as the `requestid` extension attribute.
    """
    event = _outbox_event(event_type, task, snapshot=snapshot, **extra)
    event.save(force_insert=True)
    event_recorded.send(sender=OutboxEvent, event=event)
    return event


def record_many(event_type: str, items: list[tuple[Task, dict[str, Any]]]) -> list[OutboxEvent]:
    """`record` for many tasks at once ((task, extra attributes) pairs): one INSERT for all the rows,
    then `event_recorded` for each as `record` sends it.  For a claim of hundreds of reminders, where
    a round trip per row was most of its time."""
    events_ = [_outbox_event(event_type, task, **extra) for task, extra in items]
    OutboxEvent.objects.bulk_create(events_)
    for event in events_:
        event_recorded.send(sender=OutboxEvent, event=event)
    return events_


def _outbox_event(event_type: str, task: Task, *, snapshot: dict[str, Any] | None = None,
                  **extra: Any) -> OutboxEvent:
    """The outbox row (not saved) of `event_type` on `task`: its CloudEvent as the payload."""
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
    current_request = request_id.current()
    if current_request:
        cloud_event[REQUEST_ID_ATTRIBUTE] = current_request
    return OutboxEvent(
        event_id=event_id,
        type=event_type,
        topic=TOPIC_BY_TYPE[event_type],
        key=str(task.pk),
        user_id=task.user_id,
        task_id=task.pk,
        payload=cloud_event,
        created_at=now,
    )


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
        "task": None if event_type == TASK_DELETED or data.get("removed") else data["task"],
        "changed": sorted(data.get("changes", {})),
    }


# CloudEvents Kafka protocol binding.  The event topics use structured mode: the whole event is the
# value and `content-type` names the format.  They carry no ce_* headers: those mean binary mode,
# and an SDK that detects the mode would read such a message as binary and fail.
STRUCTURED_HEADERS = {"content-type": "application/cloudevents+json"}


def _binary_headers(payload: dict[str, Any]) -> dict[str, str]:
    """Binary mode for task-updates: the event's attributes as ce_* headers, the compact
    message as its data, so the live stream is a CloudEvent too (same id, type and source)."""
    headers = {f"ce_{name}": str(payload[name])
               for name in ("specversion", "id", "source", "type", "time", "subject", REQUEST_ID_ATTRIBUTE)
               if payload.get(name) is not None}
    headers["content-type"] = "application/json"
    return headers


def kafka_messages(*, event_id: str, event_type: str, topic: str, key: str, user_id: int | None,
                   task_id: int | None, payload_text: str) -> list[tuple[str, bytes, bytes, dict[str, str]]]:
    """The Kafka messages of one outbox event, each (topic, key, value, headers): the CloudEvent
    on its own topic, byte for byte as stored (structured mode), and its compact `live_update` on
    task-updates (binary mode); both keyed by the task."""
    payload = orjson.loads(payload_text)
    live = live_update(event_id=event_id, event_type=event_type, task_id=task_id, user_id=user_id, payload=payload)
    key_bytes = key.encode()
    return [(topic, key_bytes, payload_text.encode(), STRUCTURED_HEADERS),
            (TOPIC_TASK_UPDATES, key_bytes, orjson.dumps(live), _binary_headers(payload))]
