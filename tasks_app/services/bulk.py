"""Changing many tasks in one action: complete, delete or update an exact set of a user's tasks.

Callers choose the set first (selectors.task_ids_matching, or ids a person was shown) and pass the
ids, each with the version (`updated_at`) that was shown when there was a preview: a task changed
since is skipped, not acted on unseen.  One transaction, a savepoint per task, so one refused task
does not stop the others and each gets its own result; all of it is one action for undo.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction

from ..errors import error_message
from ..models import Task
from .changes import change_group
from .tasks import UPDATABLE_FIELDS, task_complete, task_delete, task_update

BULK_ACTIONS = ("complete", "delete", "update")


@dataclass(frozen=True)
class BulkItem:
    id: int
    title: str
    status: str  # "done" or "skipped"
    reason: str = ""  # why it was skipped


def _check(action: str, task_ids: list[int], changes: dict[str, Any] | None) -> None:
    if action not in BULK_ACTIONS:
        raise ValidationError({"action": [f"must be one of {', '.join(BULK_ACTIONS)}"]})
    if not task_ids:
        raise ValidationError({"task_ids": ["no tasks to act on"]})
    if len(task_ids) > settings.BULK_MAX_TASKS:
        raise ValidationError({"task_ids": [f"at most {settings.BULK_MAX_TASKS} tasks at a time"]})
    if action == "update":
        if not changes:
            raise ValidationError({"changes": ["give at least one field to change"]})
        unknown = set(changes) - set(UPDATABLE_FIELDS)
        if unknown:
            raise ValidationError({name: ["cannot be changed"] for name in sorted(unknown)})


@transaction.atomic
def tasks_bulk_apply(*, user, action: str, task_ids: list[int], changes: dict[str, Any] | None = None,
                     expected_versions: dict[int, datetime] | None = None) -> list[BulkItem]:
    """Apply `action` to each of the user's tasks `task_ids` (another user's id reads as not found);
    with `expected_versions` ({id: updated_at}), a task whose version differs is skipped."""
    task_ids = list(dict.fromkeys(task_ids))
    _check(action, task_ids, changes)
    tasks = Task.objects.filter(user=user, pk__in=task_ids).in_bulk()
    results = []
    with change_group():
        for task_id in task_ids:
            task = tasks.get(task_id)
            if task is None:
                results.append(BulkItem(task_id, "", "skipped", "not found"))
                continue
            expected = (expected_versions or {}).get(task_id)
            if expected is not None and task.updated_at != expected:
                results.append(BulkItem(task_id, task.title, "skipped", "changed since the preview"))
                continue
            if action == "complete" and task.completed:
                results.append(BulkItem(task_id, task.title, "skipped", "already done"))
                continue
            try:
                with transaction.atomic():  # a savepoint: a refused task leaves the others done
                    if action == "complete":
                        task_complete(task=task)
                    elif action == "delete":
                        task_delete(task=task)
                    else:
                        task_update(task=task, **changes)
            except ValidationError as exc:
                results.append(BulkItem(task_id, task.title, "skipped", error_message(exc)))
                continue
            except Task.DoesNotExist:  # deleted since it was read (the write locks it first)
                results.append(BulkItem(task_id, task.title, "skipped", "not found"))
                continue
            results.append(BulkItem(task_id, task.title, "done"))
    return results
