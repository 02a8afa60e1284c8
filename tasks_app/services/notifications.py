"""Reminders and the notifications they leave: claiming due reminders, marking them read.

A reminder is claimed once, whatever the number of beats and workers scanning: the
claim marks the task's reminder sent, stores a Notification and records a
todo.reminder.due event in one transaction, over rows locked with SKIP LOCKED.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from .. import events
from ..cleaning import clean_whole_number
from ..models import MAX_SNOOZE_MINUTES, Notification, Task


def reminders_claim_due(*, now: datetime | None = None, limit: int = 500) -> list[Notification]:
    """Claim tasks whose reminder time has passed: mark them sent, store a
    Notification and a `todo.reminder.due` event, all in one transaction.

    FOR UPDATE SKIP LOCKED: concurrent scans (two beats, two workers) split the
    rows between them and never claim one twice.
    """
    now = now or timezone.now()
    with transaction.atomic():
        due = list(
            Task.objects.select_for_update(skip_locked=True)
            .filter(remind_at__lte=now, reminder_sent_at__isnull=True, completed=False, remind_at__isnull=False)
            .order_by("remind_at")[:limit]
        )
        notifications = []
        for task in due:
            snoozed = task.snoozed_until is not None
            task.reminder_sent_at = now
            task.snoozed_until = None  # a snooze is used up when it fires
            # snoozed_until only when set: writing it runs the remind_at trigger, which the plain claim needs not.
            task.save(update_fields=["reminder_sent_at", "updated_at"] + (["snoozed_until"] if snoozed else []))
            when = _due_in(task, now) if snoozed else \
                "now" if task.reminder_minutes_before == 0 else f"in {task.reminder_minutes_before} min"
            notification = Notification.objects.create(
                user_id=task.user_id, task=task, kind=Notification.Kind.REMINDER,
                message=f"Reminder: {task.title} is due {when}"[:300], due_at=task.due_at,
            )
            events.record(events.REMINDER_DUE, task, notification_id=notification.pk,
                          remind_at=task.remind_at.isoformat(), message=notification.message)
            notifications.append(notification)
        return notifications


def _due_in(task: Task, now: datetime) -> str:
    """When a snoozed reminder's task is due, from `now`: "in 20 min", "now", "20 min ago"."""
    minutes = round((task.due_at - now).total_seconds() / 60)
    return "now" if minutes == 0 else f"in {minutes} min" if minutes > 0 else f"{-minutes} min ago"


@transaction.atomic
def notification_snooze(*, user, notification_id: int, minutes: Any) -> tuple[Notification, Task]:
    """Snooze a reminder's notice: it is marked read and its task's reminder fires again `minutes`
    (1–MAX_SNOOZE_MINUTES) from now, through the same scan and claim as any reminder.  Changing the
    task's due date or lead time meanwhile drops the snooze (the remind_at trigger); completing the task
    means it never fires.  Notification.DoesNotExist for another user's notification; ValidationError
    when there is nothing to re-arm (the task was deleted or completed, or has no reminder any more)."""
    minutes = clean_whole_number("minutes", minutes, low=1, high=MAX_SNOOZE_MINUTES, unit="minutes")
    notification = Notification.objects.select_for_update().get(pk=notification_id, user=user)
    if notification.task_id is None:
        raise ValidationError({"notification": ["its task was deleted: there is no reminder to snooze"]})
    task = Task.objects.select_for_update().get(pk=notification.task_id)
    if task.completed:
        raise ValidationError({"notification": ["its task is completed: there is no reminder to snooze"]})
    if task.due_at is None or task.reminder_minutes_before is None:
        raise ValidationError({"notification": ["its task has no reminder any more: nothing to snooze"]})
    now = timezone.now()
    task.snoozed_until = now + timedelta(minutes=minutes)
    task.reminder_sent_at = None
    # The trigger sets remind_at from snoozed_until; refresh to read what it stored.
    task.save(update_fields=["snoozed_until", "reminder_sent_at", "updated_at"])
    task.refresh_from_db(fields=["remind_at", "snoozed_until"])
    if notification.read_at is None:
        notification.read_at = now
        notification.save(update_fields=["read_at"])
    return notification, task


def notification_mark_read(*, user, notification_id: int) -> Notification:
    notification = Notification.objects.get(pk=notification_id, user=user)
    if notification.read_at is None:
        notification.read_at = timezone.now()
        notification.save(update_fields=["read_at"])
    return notification


def notifications_mark_all_read(*, user) -> int:
    return Notification.objects.filter(user=user, read_at__isnull=True).update(read_at=timezone.now())
