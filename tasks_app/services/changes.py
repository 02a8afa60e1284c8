"""Undo: every change a user makes to a task is recorded with the task before and after it
(a `Change` row, in the change's own transaction), and `undo_last` reverts the latest ones.

What each kind of change is undone by:
- created: the task is deleted;
- updated: its fields, tags and series state are put back;
- completed: it is reopened, and the occurrence its completion spawned (a recurring task's next
  one, linked by previous_occurrence) is deleted with it;
- reopened: it is completed again, as it was;
- deleted: it is recreated from its snapshot, with the same id, tags and dates.

The changes of one action share a group (`change_group()`: a chat message, a bulk call) and are
undone together; "undo the last 3" undoes the last three actions.  A change is undone only if the
task is still as the change left it: otherwise (an unrecorded change since, such as an import) the
whole undo is refused with UndoConflict and nothing is reverted.  One undo per user runs at a time
(an advisory lock), so two concurrent undos never revert the same change twice.  Every revert is a
`todo.task.undone` outbox event.
A tag the undone changes had added and that no task carries afterwards is deleted (undoing a
tag rename leaves no empty tag behind).
"""

from __future__ import annotations

import contextvars
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Max
from django.db.models.functions import Lower
from django.utils import timezone

from .. import events
from ..cleaning import clean_whole_number
from ..errors import quota_check
from ..models import Change, Tag, Task

# The fields a change is compared on (is the task still as the change left it?) — what a person
# changes; not what the app keeps on its own (reminder sent, snooze, series bookkeeping).
COMPARED_FIELDS = ("title", "description", "priority", "tags", "due_at", "completed", "recurrence",
                   "reminder_minutes_before")
# The rest of the state a revert puts back.
RESTORED_FIELDS = ("title", "description", "priority", "due_at", "recurrence", "reminder_minutes_before",
                   "series_start", "series_position", "recurrence_state")
_DATETIMES = ("due_at", "completed_at", "reminder_sent_at", "snoozed_until", "series_start", "created_at")
# pg_advisory_xact_lock(key, user_id): "undo" as a 32-bit key, one lock per user.
UNDO_LOCK_KEY = 0x756E646F

_group: contextvars.ContextVar[uuid.UUID | None] = contextvars.ContextVar("change_group", default=None)


class NothingToUndo(Exception):
    """No change of the user's is left to undo (within UNDO_RETENTION_DAYS)."""


class UndoConflict(Exception):
    """A change cannot be undone: its task has changed since in a way undo did not record."""


@dataclass(frozen=True)
class Reverted:
    change_id: int
    kind: str  # the kind of change undone
    task_id: int
    title: str
    now: str  # what the task is now: "deleted", "reopened", "completed", "restored", "changed back"


@contextmanager
def change_group(group: uuid.UUID | None = None) -> Iterator[uuid.UUID]:
    """Changes recorded inside the block form one action for undo (unless an outer block set one)."""
    outer = _group.get()
    if outer is not None:
        yield outer
        return
    token = _group.set(group or uuid.uuid4())
    try:
        yield _group.get()
    finally:
        _group.reset(token)


def task_state(task: Task) -> dict[str, Any]:
    """The task's whole state as undo needs it to compare and to restore (JSON)."""
    state = {name: getattr(task, name) for name in
             ("id", "title", "description", "priority", "due_at", "completed", "completed_at", "recurrence",
              "reminder_minutes_before", "reminder_sent_at", "snoozed_until", "previous_occurrence_id",
              "series_start", "series_position", "recurrence_state", "created_at")}
    state["tags"] = events.task_tag_names(task)
    return {name: value.isoformat() if isinstance(value, datetime) else value for name, value in state.items()}


def change_record(*, kind: str, task: Task, before: dict[str, Any] | None, deleted: bool = False) -> Change:
    """Record that the user changed `task` from `before`; call inside the change's transaction."""
    return Change.objects.create(
        user_id=task.user_id, group=_group.get() or uuid.uuid4(), task_id=task.pk, kind=kind, before=before,
        after=None if deleted else task_state(task), created_at=timezone.now())


def _tags(user, names: list[str]):
    from .tags import tags_for  # tags records its changes here: imported late, not circularly

    return tags_for(user, names)


def _compared(state: dict[str, Any]) -> dict[str, Any]:
    compared = {name: state.get(name) for name in COMPARED_FIELDS}
    compared["tags"] = sorted((tag.casefold() for tag in compared["tags"] or []))
    compared["due_at"] = _when(compared["due_at"])
    return compared


def _when(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def undo_window_start(now: datetime | None = None) -> datetime:
    return (now or timezone.now()) - timedelta(days=settings.UNDO_RETENTION_DAYS)


@transaction.atomic
def undo_last(*, user, count: int = 1) -> list[Reverted]:
    """Undo the user's last `count` actions (1..UNDO_MAX_PER_CALL), newest first; returns what
    was reverted.  NothingToUndo when there is none; UndoConflict (nothing reverted) when one
    cannot be undone."""
    count = clean_whole_number("count", count, low=1, high=settings.UNDO_MAX_PER_CALL)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [UNDO_LOCK_KEY, user.pk])
    undoable = Change.objects.filter(user=user, undone_at__isnull=True, created_at__gte=undo_window_start())
    groups = list(undoable.values("group").annotate(last=Max("id")).order_by("-last")
                  .values_list("group", flat=True)[:count])
    if not groups:
        raise NothingToUndo(f"nothing to undo: no change of yours in the last {settings.UNDO_RETENTION_DAYS} "
                            "days is left to undo")
    changes = list(undoable.filter(group__in=groups).order_by("-id"))
    reverted = [_revert(change, user) for change in changes]
    Change.objects.filter(pk__in=[change.pk for change in changes]).update(undone_at=timezone.now())
    _delete_tags_left_empty(user, changes)
    return reverted


def _delete_tags_left_empty(user, changes: list[Change]) -> None:
    """A tag the undone changes had put on tasks and that no task carries now goes too: undoing a
    rename of "work" to "job" leaves "work" on the tasks and no empty "job" behind, undoing the
    creation of the only task tagged "someday" takes "someday" away."""
    added = set()
    for change in changes:
        before = {tag.casefold() for tag in (change.before or {}).get("tags") or []}
        added |= {tag.casefold() for tag in (change.after or {}).get("tags") or []} - before
    if added:
        (Tag.objects.annotate(folded=Lower("name"))
         .filter(user=user, folded__in=added, tasks__isnull=True).delete())


def _locked_task(change: Change, user) -> Task | None:
    return Task.objects.select_for_update().filter(user=user, pk=change.task_id).first()


def _check_unchanged(task: Task | None, change: Change) -> Task:
    title = (change.after or change.before or {}).get("title", "")
    if task is None:
        raise UndoConflict(f"cannot undo: task #{change.task_id} “{title}” was deleted after it was {change.kind}")
    if _compared(task_state(task)) != _compared(change.after):
        raise UndoConflict(f"cannot undo: task #{task.pk} “{task.title}” was changed after it was {change.kind}; "
                           "nothing was undone")
    return task


def _revert(change: Change, user) -> Reverted:
    if change.kind == Change.Kind.DELETED:
        return _restore_deleted(change, user)
    task = _check_unchanged(_locked_task(change, user), change)
    if change.kind == Change.Kind.CREATED:
        snapshot = events.task_snapshot(task)
        _delete(task, change)
        return Reverted(change.pk, change.kind, change.task_id, snapshot["title"], "deleted")
    if change.kind == Change.Kind.COMPLETED:
        _delete_spawned_occurrence(task, change)
        task.completed, task.completed_at, task.recurrence_state = False, None, None
        now = "reopened"
    elif change.kind == Change.Kind.REOPENED:
        task.completed, task.completed_at = True, _when(change.before["completed_at"])
        task.recurrence_state = change.before["recurrence_state"]
        now = "completed"
    else:
        _restore_fields(task, change.before)
        now = "changed back"
    task.save()
    if change.kind == Change.Kind.UPDATED:
        task.tags.set(_tags(user, change.before["tags"]))
    events.record(events.TASK_UNDONE, task, undone={"change_id": change.pk, "kind": change.kind}, removed=False)
    return Reverted(change.pk, change.kind, task.pk, task.title, now)


def _restore_fields(task: Task, before: dict[str, Any]) -> None:
    rearm = (task.due_at, task.reminder_minutes_before) != (_when(before["due_at"]), before["reminder_minutes_before"])
    for name in RESTORED_FIELDS:
        value = before[name]
        setattr(task, name, _when(value) if name in _DATETIMES else value)
    if rearm:  # the reminder goes back to what it was (sent or still to come), without a snooze
        task.reminder_sent_at, task.snoozed_until = _when(before["reminder_sent_at"]), None


def _delete(task: Task, change: Change) -> None:
    snapshot = events.task_snapshot(task)
    task.delete()
    task.pk = snapshot["id"]
    events.record(events.TASK_UNDONE, task, snapshot=snapshot, undone={"change_id": change.pk, "kind": change.kind},
                  removed=True)


def _delete_spawned_occurrence(task: Task, change: Change) -> None:
    """A recurring task's completion spawned its next occurrence: undoing the completion takes it away."""
    spawned = Task.objects.select_for_update().filter(user_id=task.user_id, previous_occurrence=task).first()
    if spawned is not None:
        _delete(spawned, change)


def _restore_deleted(change: Change, user) -> Reverted:
    before = change.before
    if Task.objects.filter(pk=change.task_id).exists():
        raise UndoConflict(f"cannot undo: task #{change.task_id} “{before['title']}” exists again")
    quota_check(used=Task.objects.filter(user=user).count(), limit=settings.QUOTA_TASKS_PER_USER,
                what="tasks per user", hint="delete some to restore this one")
    previous = before["previous_occurrence_id"]
    if previous is not None and (not Task.objects.filter(pk=previous, user=user).exists()
                                 or Task.objects.filter(previous_occurrence_id=previous).exists()):
        previous = None  # the occurrence it followed is gone, or has another next one now
    task = Task(user=user, pk=change.task_id, completed=before["completed"], completed_at=_when(before["completed_at"]),
                reminder_sent_at=_when(before["reminder_sent_at"]), snoozed_until=_when(before["snoozed_until"]),
                previous_occurrence_id=previous)
    for name in RESTORED_FIELDS:
        setattr(task, name, _when(before[name]) if name in _DATETIMES else before[name])
    task.save(force_insert=True)
    # created_at is set on insert (auto_now_add): put the original back.
    Task.objects.filter(pk=task.pk).update(created_at=_when(before["created_at"]))
    task.refresh_from_db()
    task.tags.set(_tags(user, before["tags"]))
    events.record(events.TASK_UNDONE, task, undone={"change_id": change.pk, "kind": change.kind}, removed=False)
    return Reverted(change.pk, change.kind, task.pk, task.title, "restored")


def changes_recent(*, user, limit: int = 20) -> list[Change]:
    """The user's latest changes still to undo, newest first (for "what would undo do?")."""
    return list(Change.objects.filter(user=user, undone_at__isnull=True, created_at__gte=undo_window_start())
                .order_by("-id")[:limit])
