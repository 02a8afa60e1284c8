"""A user's tasks as this app's JSON export (format "todo-tasks", version 1): every field, tags,
recurrence, reminders, and the completion history (completed occurrences stay rows of their series,
linked by `previous_occurrence`)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.utils import timezone

from ..models import Task
from .readers import EXPORT_FORMAT, EXPORT_VERSION

EXPORT_CHUNK = 500


def _moment(value) -> str | None:
    return value.isoformat() if value is not None else None


def task_export_item(task: Task) -> dict[str, Any]:
    return {
        "id": task.pk, "title": task.title, "description": task.description, "priority": task.priority,
        "tags": sorted(tag.name for tag in task.tags.all()), "due_at": _moment(task.due_at),
        "completed": task.completed, "completed_at": _moment(task.completed_at),
        "recurrence": task.recurrence, "recurrence_from_completion": task.recurrence_from_completion,
        "reminder_minutes_before": task.reminder_minutes_before,
        "reminder_sent_at": _moment(task.reminder_sent_at), "previous_occurrence": task.previous_occurrence_id,
        "series_start": _moment(task.series_start), "series_position": task.series_position,
        "recurrence_state": task.recurrence_state,
        "created_at": _moment(task.created_at), "updated_at": _moment(task.updated_at),
    }


def tasks_export_items(*, user) -> Iterator[dict[str, Any]]:
    """Oldest first, so that an import creates each series' occurrences in order."""
    tasks = Task.objects.filter(user=user).prefetch_related("tags").order_by("created_at", "pk")
    for task in tasks.iterator(chunk_size=EXPORT_CHUNK):
        yield task_export_item(task)


def tasks_export(*, user) -> dict[str, Any]:
    return {"format": EXPORT_FORMAT, "version": EXPORT_VERSION, "exported_at": timezone.now().isoformat(),
            "username": user.get_username(), "tasks": list(tasks_export_items(user=user))}
