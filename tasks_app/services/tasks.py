"""Writing tasks: create, change, complete, reopen, delete, and a series' next occurrence.

Each write is one transaction that locks the task, cleans the input (tasks_app.cleaning),
saves, and records the change as an outbox event (tasks_app.events) in the same
transaction; whatever follows the change (recurrence, audit, Kafka, live pages) runs
from that event after commit.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from .. import events
from ..cleaning import (
    clean_datetime,
    clean_description,
    clean_priority,
    clean_recurrence,
    clean_reminder,
    clean_title,
    user_timezone,
)
from ..errors import quota_check
from ..models import Priority, Task
from ..recurrence import next_occurrence
from ..signals import task_completed
from .tags import tags_for

# full_clean checks field types and lengths; the check constraints are not re-run as
# queries (four round trips per write): the cleaners enforce the same rules, and the
# database enforces the constraints at INSERT/UPDATE anyway.
TASK_CLEAN_EXCLUDE = ["user", "previous_occurrence"]

# Fields a caller may change with task_update; the rest are derived.
UPDATABLE_FIELDS = ("title", "description", "priority", "tags", "due_at", "recurrence", "reminder_minutes_before")


def _clean_due_at(due_at: Any, user) -> datetime | None:
    return None if due_at is None else clean_datetime("due_at", due_at, user_timezone(user))


@transaction.atomic
def task_create(
    *,
    user,
    title: str,
    description: str = "",
    priority: str = Priority.P3,
    tags: Iterable[str] = (),
    due_at: datetime | None = None,
    recurrence: str | None = None,
    reminder_minutes_before: int | None = None,
    previous_occurrence: Task | None = None,
) -> Task:
    if previous_occurrence is None:  # a series goes on: its next occurrence replaces a completed one
        quota_check(used=Task.objects.filter(user=user).count(), limit=settings.QUOTA_TASKS_PER_USER,
                    what="tasks per user", hint="delete some to add more")
    task = Task(
        user=user,
        title=clean_title(title),
        description=clean_description(description),
        priority=clean_priority(priority),
        due_at=_clean_due_at(due_at, user),
        recurrence=clean_recurrence(recurrence),
        reminder_minutes_before=clean_reminder(reminder_minutes_before),
        previous_occurrence=previous_occurrence,
    )
    tag_objects = tags_for(user, tags)
    task.full_clean(exclude=TASK_CLEAN_EXCLUDE, validate_constraints=False)
    task.save()
    task.tags.set(tag_objects)
    events.record(events.TASK_CREATED, task)
    return task


@transaction.atomic
def task_update(*, task: Task, **changes: Any) -> Task:
    """Apply `changes` (a subset of UPDATABLE_FIELDS; None clears an optional field)."""
    unknown = set(changes) - set(UPDATABLE_FIELDS)
    if unknown:
        raise ValidationError({name: ["cannot be changed"] for name in sorted(unknown)})
    task = Task.objects.select_for_update().get(pk=task.pk)
    before = events.task_snapshot(task)
    reminder_before = (task.due_at, task.reminder_minutes_before)
    cleaners = {
        "title": clean_title,
        "description": clean_description,
        "priority": clean_priority,
        "due_at": lambda value: _clean_due_at(value, task.user),
        "recurrence": clean_recurrence,
        "reminder_minutes_before": clean_reminder,
    }
    for name, clean in cleaners.items():
        if name in changes:
            setattr(task, name, clean(changes[name]))
    new_tags = tags_for(task.user, changes["tags"] or []) if "tags" in changes else None
    if (task.due_at, task.reminder_minutes_before) != reminder_before:
        # A new due date or lead time is a new reminder: arm it again.
        task.reminder_sent_at = None
    task.full_clean(exclude=TASK_CLEAN_EXCLUDE, validate_constraints=False)
    task.save()
    if new_tags is not None:
        task.tags.set(new_tags)
    after = events.task_snapshot(task)
    changed = {name: {"old": before[name], "new": after[name]} for name in UPDATABLE_FIELDS
               if before[name] != after[name]}
    if changed:
        events.record(events.TASK_UPDATED, task, snapshot=after, changes=changed)
    return task


@transaction.atomic
def task_complete(*, task: Task) -> Task:
    task = Task.objects.select_for_update().get(pk=task.pk)
    if not task.completed:
        task.completed = True
        task.completed_at = timezone.now()
        task.save(update_fields=["completed", "completed_at", "updated_at"])
        events.record(events.TASK_COMPLETED, task)
        task_completed.send(sender=Task, task=task)
    return task


@transaction.atomic
def task_reopen(*, task: Task) -> Task:
    task = Task.objects.select_for_update().get(pk=task.pk)
    if task.completed:
        task.completed = False
        task.completed_at = None
        task.save(update_fields=["completed", "completed_at", "updated_at"])
        events.record(events.TASK_REOPENED, task)
    return task


@transaction.atomic
def task_delete(*, task: Task) -> None:
    # Locked like every other write, so this task's events stay in commit order.
    task = Task.objects.select_for_update().get(pk=task.pk)
    snapshot = events.task_snapshot(task)
    task.delete()
    task.pk = snapshot["id"]
    events.record(events.TASK_DELETED, task, snapshot=snapshot)


def next_occurrence_due(task: Task, *, now: datetime | None = None) -> datetime | None:
    """When the occurrence after completed `task` is due, or None when the rule has ended.

    Counted from the previous due date (or the completion time when there was none),
    in the user's zone (tasks_app.recurrence.next_occurrence says how).
    """
    now = now or timezone.now()
    return next_occurrence(task.recurrence, start=task.due_at or task.completed_at or now, now=now,
                           zone=user_timezone(task.user))


def task_spawn_next_occurrence(*, task_id: int) -> Task | None:
    """Create the next occurrence of completed recurring task `task_id`, once.

    Safe to call any number of times, concurrently too: the unique
    previous_occurrence link makes the database refuse a second one.
    """
    with transaction.atomic():
        task = Task.objects.select_for_update().select_related("user").filter(pk=task_id).first()
        if task is None or not task.completed or not task.recurrence:
            return None
        existing = Task.objects.filter(previous_occurrence=task).first()
        if existing is not None:
            return existing
        due_at = next_occurrence_due(task)
        if due_at is None:
            return None
        try:
            with transaction.atomic():  # a savepoint: losing the race must not spoil the outer transaction
                return task_create(
                    user=task.user,
                    title=task.title,
                    description=task.description,
                    priority=task.priority,
                    tags=[tag.name for tag in task.tags.all()],
                    due_at=due_at,
                    recurrence=task.recurrence,
                    reminder_minutes_before=task.reminder_minutes_before,
                    previous_occurrence=task,
                )
        except IntegrityError:
            return Task.objects.filter(previous_occurrence=task).first()
