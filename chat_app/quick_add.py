"""Quick add: a task typed as one line ("Pay rent every month #home p2 remind me 1 day before").

The line is read with the offline assistant's grammar (offline.intents.read_task_description: the
same phrases, in the same order, as "add …" in the chat) and the task is created through
tasks_app.services, like any other.  What was understood comes back as parts, each with its span
in the text as sent, so a client can highlight them; a preview reads without writing anything.
The REST endpoints (chat_app.api) and the MCP tool quick_add (chat_app.mcp_server) are thin doors
over these two functions.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.utils import timezone

from tasks_app import services
from tasks_app.cleaning import QUICK_ADD_MAX_LENGTH, clean_text, user_timezone
from tasks_app.models import Task
from tasks_app.selectors import profile_get

from .offline.intents import DEFAULT_REMINDER_FIELD, Part, TaskReading, read_task_description

__all__ = ["QUICK_ADD_MAX_LENGTH", "QuickAdd", "part_as_data", "quick_add_read", "task_quick_add"]


@dataclass(frozen=True)
class QuickAdd:
    task: Task
    reading: TaskReading


def quick_add_read(*, user, text: Any, now: datetime | None = None) -> TaskReading:
    """What `text` would create, for `user` (dates in the user's zone); nothing is written.
    ValidationError for text that is not text, too long, or holds a NUL."""
    text = clean_text("text", text, max_length=QUICK_ADD_MAX_LENGTH)
    now = timezone.localtime(now or timezone.now(), user_timezone(user))
    reading = read_task_description(text, now)
    if not reading.fields.get(DEFAULT_REMINDER_FIELD):
        return reading
    # "with a reminder", no lead time given: the user's own default lead time (0 when they turned it off).
    minutes = profile_get(user=user).default_reminder_minutes or 0
    fields = {name: value for name, value in reading.fields.items() if name != DEFAULT_REMINDER_FIELD}
    fields["reminder_minutes_before"] = minutes
    parts = [replace(part, value=minutes) if part.kind == "reminder" else part for part in reading.parts]
    return replace(reading, fields=fields, parts=parts)


def task_quick_add(*, user, text: Any, now: datetime | None = None) -> QuickAdd:
    """Create the task `text` describes.  ValidationError naming `text` when no task can be made of it
    (empty, or nothing left for a title), or naming the field the services refuse."""
    reading = quick_add_read(user=user, text=text, now=now)
    if reading.problem:
        raise ValidationError({"text": [reading.problem]})
    return QuickAdd(task=services.task_create(user=user, **reading.fields), reading=reading)


def part_as_data(part: Part) -> dict[str, Any]:
    """A part as JSON-ready data: date-times as ISO 8601 text in the user's zone."""
    value = part.value.isoformat() if isinstance(part.value, datetime) else part.value
    return {"kind": part.kind, "value": value, "start": part.start, "end": part.end, "text": part.text}
