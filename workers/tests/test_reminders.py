"""Due reminders are claimed once, stored as notifications and emitted as events."""

import threading
from datetime import datetime, timedelta, timezone

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone as dj_timezone

from tasks_app import services
from tasks_app.models import Notification, OutboxEvent, Task

UTC = timezone.utc


def task_due_in(user, minutes: float, reminder: int | None = 30, **fields):
    return services.task_create(user=user, title=fields.pop("title", "Call the bank"), reminder_minutes_before=reminder,
                                due_at=dj_timezone.now() + timedelta(minutes=minutes), **fields)


@pytest.mark.django_db
def test_remind_at_is_kept_by_the_database(alice):
    task = services.task_create(user=alice, title="x", due_at=datetime(2027, 1, 1, 10, 0, tzinfo=UTC),
                                reminder_minutes_before=90)
    assert Task.objects.get(pk=task.pk).remind_at == datetime(2027, 1, 1, 8, 30, tzinfo=UTC)
    Task.objects.filter(pk=task.pk).update(reminder_minutes_before=None)
    assert Task.objects.get(pk=task.pk).remind_at is None


@pytest.mark.django_db
def test_a_due_reminder_is_claimed_with_a_notification_and_an_event(alice, event_validator):
    due = task_due_in(alice, 20)          # reminder time 10 minutes ago
    later = task_due_in(alice, 60)        # reminder in 30 minutes
    task_due_in(alice, 10, reminder=None)  # no reminder at all
    done = task_due_in(alice, 5)
    services.task_complete(task=done)

    claimed = services.reminders_claim_due()
    assert [notification.task_id for notification in claimed] == [due.pk]
    notification = Notification.objects.get()
    assert (notification.user, notification.task_id, notification.kind) == (alice, due.pk, "reminder")
    assert "Call the bank" in notification.message
    assert Task.objects.get(pk=due.pk).reminder_sent_at is not None
    assert Task.objects.get(pk=later.pk).reminder_sent_at is None
    event = OutboxEvent.objects.get(type="todo.reminder.due")
    assert (event.topic, event.key) == ("reminders", str(due.pk))
    event_validator.validate(event.payload)
    assert event.payload["data"]["notification_id"] == notification.pk

    assert services.reminders_claim_due() == [], "a sent reminder is not sent again"


@pytest.mark.django_db
def test_changing_the_due_date_or_lead_time_rearms_the_reminder(alice):
    task = task_due_in(alice, 10)
    assert len(services.reminders_claim_due()) == 1
    services.task_update(task=task, due_at=dj_timezone.now() + timedelta(minutes=5))
    assert len(services.reminders_claim_due()) == 1, "new due date, new reminder"
    services.task_update(task=task, reminder_minutes_before=0)
    assert Task.objects.get(pk=task.pk).reminder_sent_at is None
    assert services.reminders_claim_due() == [], "not due yet with no lead time"
    services.task_update(task=task, title="Renamed")
    assert Task.objects.get(pk=task.pk).reminder_sent_at is None


@pytest.mark.django_db(transaction=True)
def test_concurrent_scans_never_send_one_reminder_twice(alice):
    tasks = [task_due_in(alice, 1, reminder=5, title=f"Reminder {n}") for n in range(60)]
    barrier = threading.Barrier(4)
    claimed: list[int] = []
    lock = threading.Lock()

    def scan():
        try:
            barrier.wait()
            for _ in range(5):
                notifications = services.reminders_claim_due(limit=7)
                with lock:
                    claimed.extend(notification.task_id for notification in notifications)
        finally:
            connection.close()

    threads = [threading.Thread(target=scan) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(claimed) == sorted(task.pk for task in tasks)
    assert Notification.objects.count() == 60
    assert OutboxEvent.objects.filter(type="todo.reminder.due").count() == 60


@pytest.mark.django_db
def test_the_scan_is_an_index_scan_on_the_partial_index(alice, bob):
    from django.contrib.auth import get_user_model

    # A table where almost nothing is due: the scan must not read it all.
    now = dj_timezone.now()
    users = [get_user_model().objects.create_user(f"user{n}") for n in range(20)]
    Task.objects.bulk_create(
        Task(user=users[n % 20], title=f"t{n}", due_at=now + timedelta(days=n % 300 + 1), reminder_minutes_before=10,
             completed=n % 3 == 0, completed_at=now if n % 3 == 0 else None)
        for n in range(6000)
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE tasks_app_task")
    # The statement the claim really sends (captured, not a copy of it that could drift from it).
    with CaptureQueriesContext(connection) as queries:
        assert services.reminders_claim_due(now=now) == []
    claim = next(query["sql"] for query in queries.captured_queries
                 if '"tasks_app_task"' in query["sql"] and "FOR UPDATE" in query["sql"])
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + claim)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "task_reminder_pending" in plan, plan
    assert "Seq Scan" not in plan, plan
