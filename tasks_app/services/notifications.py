"""Reminders and the notifications they leave: claiming due reminders, marking them read.

A reminder is claimed once, whatever the number of beats and workers scanning: the
claim marks the task's reminder sent, stores a Notification and records a
todo.reminder.due event in one transaction, over rows locked with SKIP LOCKED.
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from .. import events
from ..models import Notification, Task


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
            task.reminder_sent_at = now
            task.save(update_fields=["reminder_sent_at", "updated_at"])
            when = "now" if task.reminder_minutes_before == 0 else f"in {task.reminder_minutes_before} min"
            notification = Notification.objects.create(
                user_id=task.user_id, task=task, kind=Notification.Kind.REMINDER,
                message=f"Reminder: {task.title} is due {when}"[:300], due_at=task.due_at,
            )
            events.record(events.REMINDER_DUE, task, notification_id=notification.pk,
                          remind_at=task.remind_at.isoformat(), message=notification.message)
            notifications.append(notification)
        return notifications


def notification_mark_read(*, user, notification_id: int) -> Notification:
    notification = Notification.objects.get(pk=notification_id, user=user)
    if notification.read_at is None:
        notification.read_at = timezone.now()
        notification.save(update_fields=["read_at"])
    return notification


def notifications_mark_all_read(*, user) -> int:
    return Notification.objects.filter(user=user, read_at__isnull=True).update(read_at=timezone.now())
