"""Writing tasks: create, change, complete, reopen, delete, and a series' next occurrence.

Each write is one transaction that locks the task, cleans the input (tasks_app.cleaning),
saves, and records the change as an outbox event (tasks_app.events) in the same
transaction; whatever follows the change (recurrence, audit, Kafka, live pages) runs
from that event after commit.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from .. import events
from ..cleaning import (
    clean_bool,
    clean_description,
    clean_due_at,
    clean_priority,
    clean_recurrence,
    clean_reminder,
    clean_title,
    user_timezone,
)
from ..errors import quota_check
from ..models import Priority, RecurrenceState, Task
from ..recurrence import (
    InvalidRecurrence,
    check_series,
    completion_anchor,
    next_after,
    normalize_rrule,
    rule_parts,
)
from ..signals import task_completed
from .changes import change_record, task_state
from .tags import tags_for

logger = logging.getLogger(__name__)

# full_clean checks field types and lengths; the check constraints are not re-run as
# queries (four round trips per write): the cleaners enforce the same rules, and the
# database enforces the constraints at INSERT/UPDATE anyway.
TASK_CLEAN_EXCLUDE = ["user", "previous_occurrence"]

# Fields a caller may change with task_update; the rest are derived.
UPDATABLE_FIELDS = ("title", "description", "priority", "tags", "due_at", "recurrence", "recurrence_from_completion",
                    "reminder_minutes_before")


def _clean_from_completion(value: Any) -> bool:
    return bool(clean_bool("recurrence_from_completion", value))


def _clean_due_at(due_at: Any, user) -> datetime | None:
    return None if due_at is None else clean_due_at(due_at, user_timezone(user))


def _check_series(task: Task) -> None:
    """A recurring task's rule must have an occurrence after the series' start (its due date, or
    now for a task without one, whose series starts when it is completed)."""
    if not task.recurrence:
        return
    try:
        check_series(task.recurrence, start=task.due_at or timezone.now(), zone=user_timezone(task.user))
    except InvalidRecurrence as exc:
        raise ValidationError({"recurrence": [f"invalid recurrence rule: {exc}"]}) from None


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
    recurrence_from_completion: bool = False,
    reminder_minutes_before: int | None = None,
    previous_occurrence: Task | None = None,
    series_start: datetime | None = None,
    series_position: int = 1,
) -> Task:
    """A new task; `previous_occurrence`, `series_start` and `series_position` are given only by
    task_spawn_next_occurrence (the occurrence's place in its series), otherwise a recurring task
    starts a series of its own, anchored on its due date."""
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
        recurrence_from_completion=_clean_from_completion(recurrence_from_completion),
        reminder_minutes_before=clean_reminder(reminder_minutes_before),
        previous_occurrence=previous_occurrence,
        series_position=series_position,
    )
    if previous_occurrence is None:
        _check_series(task)
        task.series_start = task.due_at if task.recurrence else None
    else:
        task.series_start = series_start
    task.rule_due_at = task.due_at if task.recurrence else None
    tag_objects = tags_for(user, tags)
    task.full_clean(exclude=TASK_CLEAN_EXCLUDE, validate_constraints=False)
    task.save()
    if tag_objects:  # add, not set: a new task has no links to compare with (set() would read them first)
        task.tags.add(*tag_objects)
    # The event's snapshot and the response list these names (events.task_tag_names): no query to read back
    # the links just written.
    task.tag_names = [tag.name for tag in tag_objects]
    events.record(events.TASK_CREATED, task)
    if previous_occurrence is None:  # a spawned occurrence goes with the completion that made it
        change_record(kind="created", task=task, before=None)
    return task


@transaction.atomic
def task_update(*, task: Task, **changes: Any) -> Task:
    """Apply `changes` (a subset of UPDATABLE_FIELDS; None clears an optional field)."""
    unknown = set(changes) - set(UPDATABLE_FIELDS)
    if unknown:
        raise ValidationError({name: ["cannot be changed"] for name in sorted(unknown)})
    # Tags read once for the snapshot before, and once more below if they change.
    given, task = task, Task.objects.select_for_update().prefetch_related("tags").get(pk=task.pk)
    if Task.user.is_cached(given):
        task.user = given.user  # the caller's (the request's user): its zone and tags need not read it again
    before = events.task_snapshot(task)
    state_before = task_state(task)
    reminder_before = (task.due_at, task.reminder_minutes_before)
    series_before = (task.recurrence, task.due_at)
    cleaners = {
        "title": clean_title,
        "description": clean_description,
        "priority": clean_priority,
        "due_at": lambda value: _clean_due_at(value, task.user),
        "recurrence": clean_recurrence,
        "recurrence_from_completion": _clean_from_completion,
        "reminder_minutes_before": clean_reminder,
    }
    for name, clean in cleaners.items():
        if name in changes:
            setattr(task, name, clean(changes[name]))
    _follow_series_change(task, rule_before=series_before[0], due_before=series_before[1],
                          rule_given="recurrence" in changes)
    new_tags = tags_for(task.user, changes["tags"] or []) if "tags" in changes else None
    if (task.due_at, task.reminder_minutes_before) != reminder_before:
        # A new due date or lead time is a new reminder: arm it again (and drop a snooze, as the
        # remind_at trigger does in the database).
        task.reminder_sent_at = None
        task.snoozed_until = None
    task.full_clean(exclude=TASK_CLEAN_EXCLUDE, validate_constraints=False)
    task.save()
    if new_tags is not None:
        task.tags.set(new_tags)  # (which drops the tags prefetched above)
        task.tag_names = [tag.name for tag in new_tags]
    after = events.task_snapshot(task)
    changed = {name: {"old": before[name], "new": after[name]} for name in UPDATABLE_FIELDS
               if before[name] != after[name]}
    if changed:
        events.record(events.TASK_UPDATED, task, snapshot=after, changes=changed)
        change_record(kind="updated", task=task, before=state_before)
    return task


def _follow_series_change(task: Task, *, rule_before: str | None, due_before: datetime | None,
                          rule_given: bool) -> None:
    """Moving one occurrence (a new due date alone) moves that occurrence only: the series keeps its
    anchor and the slot the rule gave this occurrence (rule_due_at), so the next one still follows the
    rule.  A rule sent with the change (even the same rule) starts the series again at the due date:
    that is how the whole series moves; a different rule also restarts the count."""
    if (task.recurrence, task.due_at) == (rule_before, due_before) and not rule_given:
        return
    _check_series(task)
    if not task.recurrence:
        task.series_start = task.rule_due_at = None
        return
    if rule_given or task.series_start is None:
        task.series_start = task.rule_due_at = task.due_at
    elif task.rule_due_at is None:  # a row from before rule_due_at: its slot was its due date
        task.rule_due_at = due_before
    if task.recurrence != rule_before:
        task.series_position = 1
        if task.recurrence_state == RecurrenceState.ENDED:
            task.recurrence_state = None  # the new rule may go on: completing it again decides


@transaction.atomic
def task_complete(*, task: Task) -> Task:
    task = Task.objects.select_for_update().prefetch_related("tags").get(pk=task.pk)
    if not task.completed:
        before = task_state(task)
        task.completed = True
        task.completed_at = timezone.now()
        if task.recurrence and task.recurrence_state is None:
            task.recurrence_state = RecurrenceState.PENDING
        task.save(update_fields=["completed", "completed_at", "recurrence_state", "updated_at"])
        events.record(events.TASK_COMPLETED, task)
        change_record(kind="completed", task=task, before=before)
        task_completed.send(sender=Task, task=task)
    return task


@transaction.atomic
def task_reopen(*, task: Task) -> Task:
    task = Task.objects.select_for_update().prefetch_related("tags").get(pk=task.pk)
    if task.completed:
        before = task_state(task)
        task.completed = False
        task.completed_at = None
        task.save(update_fields=["completed", "completed_at", "updated_at"])
        events.record(events.TASK_REOPENED, task)
        change_record(kind="reopened", task=task, before=before)
    return task


@transaction.atomic
def task_delete(*, task: Task) -> None:
    # Locked like every other write, so this task's events stay in commit order.
    task = Task.objects.select_for_update().get(pk=task.pk)
    snapshot = events.task_snapshot(task)
    before = task_state(task)
    task.delete()
    task.pk = snapshot["id"]
    events.record(events.TASK_DELETED, task, snapshot=snapshot)
    change_record(kind="deleted", task=task, before=before, deleted=True)


def next_occurrence_due(task: Task, *, now: datetime | None = None) -> datetime | None:
    """When the occurrence after completed `task` is due, or None when its series has ended.

    The rule is laid out from the series' anchor (its first due date, or the completion time when
    there was none) in the user's zone, and the first occurrence after both the task's due date and
    now is taken (missed ones are skipped, not counted).  COUNT counts the series' occurrences; a
    stored rule that today's bounds refuse (a row from before them) ends the series rather than
    occupying a worker.  Pure computation (tasks_app.recurrence.next_after), bounded in time: callers
    run it outside any row lock."""
    now = now or timezone.now()
    try:
        rule = normalize_rrule(task.recurrence)
    except InvalidRecurrence as exc:
        logger.warning("task %s: recurrence %r ends its series: %s", task.pk, task.recurrence, exc)
        return None
    count = rule_parts(rule).get("COUNT")
    if count is not None and task.series_position >= int(count):
        return None
    zone = user_timezone(task.user)
    if task.recurrence_from_completion and task.completed_at is not None:
        # every!: laid out afresh from the completion day, at the due time of day.
        anchor = completion_anchor(task.completed_at, task.due_at, zone)
        return next_after(rule, anchor=anchor, after=max(anchor, task.completed_at), zone=zone)
    previous = task.due_at or task.completed_at or now
    # A moved occurrence: the next one follows the slot the rule gave it, whichever is later.
    slot = max(previous, task.rule_due_at) if task.rule_due_at else previous
    return next_after(rule, anchor=task.series_start or previous, after=max(slot, now), zone=zone)


def _series_snapshot(task: Task) -> tuple:
    return (task.completed, task.completed_at, task.recurrence, task.recurrence_from_completion, task.due_at,
            task.rule_due_at, task.series_start, task.series_position, task.recurrence_state)


def task_spawn_next_occurrence(*, task_id: int) -> Task | None:
    """Create the next occurrence of completed recurring task `task_id`, once, or record that its
    series has ended; returns the next occurrence (None when there is none).

    The due date is computed before the row is locked; under the lock the task is checked to be
    unchanged (else computed again), then the occurrence is created and the task marked spawned in
    one transaction.  Safe to call any number of times, concurrently too: a spawned or ended series
    is answered from its recorded state, and the unique previous_occurrence link makes the database
    refuse a second occurrence.  A next occurrence the user deleted stays deleted.
    """
    for _ in range(3):
        task = Task.objects.select_related("user").filter(pk=task_id).first()
        if task is None or not task.completed or not task.recurrence:
            return None
        if task.recurrence_state == RecurrenceState.SPAWNED:
            return Task.objects.filter(previous_occurrence=task).first()
        if task.recurrence_state == RecurrenceState.ENDED:
            return None
        due_at = next_occurrence_due(task)
        with transaction.atomic():
            locked = Task.objects.select_for_update().select_related("user").filter(pk=task_id).first()
            if locked is None or _series_snapshot(locked) != _series_snapshot(task):
                continue  # changed while we computed: read it again
            return _spawn_locked(locked, due_at)
    return None


def _spawn_locked(task: Task, due_at: datetime | None) -> Task | None:
    following = None
    if due_at is not None:
        try:
            with transaction.atomic():  # a savepoint: losing the race must not spoil the outer transaction
                following = task_create(
                    user=task.user,
                    title=task.title,
                    description=task.description,
                    priority=task.priority,
                    tags=[tag.name for tag in task.tags.all()],
                    due_at=due_at,
                    recurrence=task.recurrence,
                    recurrence_from_completion=task.recurrence_from_completion,
                    reminder_minutes_before=task.reminder_minutes_before,
                    previous_occurrence=task,
                    # every! starts again from each completion: its anchor is the new due date.
                    series_start=(due_at if task.recurrence_from_completion
                                  else task.series_start or task.due_at or task.completed_at),
                    series_position=task.series_position + 1,
                )
        except IntegrityError:  # created by a job from before series states were recorded
            following = Task.objects.filter(previous_occurrence=task).first()
        except ValidationError as exc:  # a stored task today's rules refuse (e.g. a due date past 2999)
            logger.warning("task %s: next occurrence refused, series ended: %s", task.pk, exc.messages)
    task.recurrence_state = RecurrenceState.ENDED if following is None else RecurrenceState.SPAWNED
    task.save(update_fields=["recurrence_state"])
    return following
