"""The scan as safety net: a backlog of due reminders bigger than one claim batch (precise jobs lost,
workers down for a while) is sent by one scan, each reminder once, batch after batch."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tasks_app import services
from tasks_app.models import Notification, OutboxEvent
from workers import tasks


@pytest.mark.django_db
def test_one_scan_sends_a_backlog_bigger_than_a_claim_batch(alice, bob, monkeypatch):
    monkeypatch.setattr(tasks, "REMINDER_CLAIM_BATCH", 3)
    due = timezone.now() + timedelta(minutes=1)
    backlog = [services.task_create(user=(alice, bob)[n % 2], title=f"Overdue reminder {n}", due_at=due,
                                    reminder_minutes_before=5) for n in range(8)]

    assert tasks.scan_reminders() == 8  # three batches: 3 + 3 + 2

    assert sorted(Notification.objects.values_list("task_id", flat=True)) == sorted(task.pk for task in backlog)
    events = OutboxEvent.objects.filter(type="todo.reminder.due")
    assert sorted(events.values_list("task_id", flat=True)) == sorted(task.pk for task in backlog)
    # Each event names its own notice and its own user (one INSERT for a batch's events, one event each).
    for event in events:
        notification = Notification.objects.get(pk=event.payload["data"]["notification_id"])
        assert (notification.task_id, notification.user_id) == (event.task_id, event.user_id)
    assert tasks.scan_reminders() == 0
