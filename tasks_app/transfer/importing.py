"""Drafts → tasks, through task_create, in one transaction: all or nothing unless told to skip.

Each draft is created under a savepoint, so a bad row is reported (row, field, message) and the
rows around it are unaffected; at the end the whole file is rolled back when any row failed
(unless `skip_errors`) or when this is a dry run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import DatabaseError, transaction

from .. import events
from ..errors import QuotaExceeded, field_errors
from ..models import RecurrenceState, Task
from ..models import Change
from ..services import task_create
from ..services.changes import change_group, task_state
from .drafts import Reading, RowError


@dataclass
class ImportReport:
    format: str
    total: int
    created: int = 0
    errors: list[RowError] = field(default_factory=list)
    dry_run: bool = False
    committed: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {"format": self.format, "total": self.total, "created": self.created, "dry_run": self.dry_run,
                "committed": self.committed, "errors": [error.as_dict() for error in self.errors]}


class _RollBack(Exception):
    pass


def tasks_import(*, user, reading: Reading, dry_run: bool = False, skip_errors: bool = False,
                 progress: Callable[[int], None] | None = None) -> ImportReport:
    """Create `reading`'s drafts as `user`'s tasks; the report says what was (or would be) created."""
    report = ImportReport(format=reading.format, total=len(reading.drafts) + len(reading.errors),
                          errors=list(reading.errors), dry_run=dry_run)
    try:
        with transaction.atomic(), change_group():  # one action: "undo" takes the whole import back
            _create_all(user, reading, report, progress)
            report.errors.sort(key=lambda error: error.row)
            if dry_run or (report.errors and not skip_errors):
                raise _RollBack
    except _RollBack:
        return report
    report.committed = True
    return report


def _create_all(user, reading: Reading, report: ImportReport, progress) -> None:
    by_source_id: dict[int, int] = {}
    links: list[tuple[int, int]] = []  # (new task id, source id of its previous occurrence)
    for draft in reading.drafts:
        savepoint = transaction.savepoint()
        try:
            task = task_create(user=user, **draft.fields)
            _restore(task, draft)
        except ValidationError as exc:
            transaction.savepoint_rollback(savepoint)
            report.errors.extend(RowError(draft.row, name, message) for name, message in field_errors(exc))
        except (QuotaExceeded, DatabaseError) as exc:
            transaction.savepoint_rollback(savepoint)
            report.errors.append(RowError(draft.row, None, str(exc).splitlines()[0][:300]))
            if isinstance(exc, QuotaExceeded):
                break  # every later row would say the same
        else:
            transaction.savepoint_commit(savepoint)
            report.created += 1
            if draft.source_id is not None:
                by_source_id[draft.source_id] = task.pk
            if draft.previous_source_id is not None:
                links.append((task.pk, draft.previous_source_id))
        if progress:
            progress(1)
    for task_id, previous_source_id in links:
        if previous_source_id in by_source_id:
            Task.objects.filter(pk=task_id).update(previous_occurrence_id=by_source_id[previous_source_id])


def _restore(task: Task, draft) -> None:
    """What task_create does not take: completion, and for this app's own export the series'
    state and the original times, so an export → import round trip loses nothing."""
    kept = {name: value for name, value in draft.kept.items() if value is not None}
    if draft.completed_at is not None:
        kept.update(completed=True, completed_at=draft.completed_at)
        # A completed task from another app is history: its series does not go on from here.
        if task.recurrence and "recurrence_state" not in kept:
            kept["recurrence_state"] = RecurrenceState.ENDED
    if not task.recurrence:
        kept.pop("recurrence_state", None)
    if not kept:
        return
    if kept.get("recurrence_state") not in (None, *RecurrenceState.values):
        raise ValidationError({"recurrence_state": [f"must be one of {', '.join(RecurrenceState.values)}"]})
    Task.objects.filter(pk=task.pk).update(**kept)
    if draft.completed_at is not None:
        task.refresh_from_db()
        events.record(events.TASK_COMPLETED, task)
        # Undo compares the task with the state its creation left: that is the completed one.
        Change.objects.filter(task_id=task.pk, kind=Change.Kind.CREATED).update(after=task_state(task))
