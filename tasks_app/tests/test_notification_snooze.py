"""POST /api/notifications/{id}/snooze re-arms the reminder: the scan's claim fires it again after the
snooze, once; a completed task's snoozed reminder never fires; a new due date replaces the snooze."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tasks_app import services
from tasks_app.models import Notification, Task

pytestmark = pytest.mark.django_db


def fired_for(task: Task, *, at) -> list[Notification]:
    """Run the reminder scan's claim as of `at`; the notifications it left for `task`."""
    return [notification for notification in services.reminders_claim_due(now=at) if notification.task_id == task.pk]


def due_reminder(user) -> tuple[Task, Notification]:
    """A task due in 10 minutes with a 30-minute reminder, whose reminder has fired."""
    task = services.task_create(user=user, title="Call Sam", due_at=timezone.now() + timedelta(minutes=10),
                                reminder_minutes_before=30)
    (notification,) = fired_for(task, at=timezone.now())
    return task, notification


def snooze(client, notification_id, body):
    return client.post(f"/api/notifications/{notification_id}/snooze", body, content_type="application/json")


def test_a_snoozed_reminder_fires_again_after_the_snooze_and_once(alice_api, alice):
    task, notification = due_reminder(alice)
    before = timezone.now()

    response = snooze(alice_api, notification.pk, {"minutes": 10})

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["notification"]["read_at"] is not None and body["task_id"] == task.pk
    task.refresh_from_db()
    assert before + timedelta(minutes=10) <= task.remind_at <= timezone.now() + timedelta(minutes=10)
    assert task.reminder_sent_at is None
    assert fired_for(task, at=timezone.now()) == []  # not before the snooze ends
    (again,) = fired_for(task, at=timezone.now() + timedelta(minutes=11))
    assert again.pk != notification.pk and "Call Sam" in again.message
    assert fired_for(task, at=timezone.now() + timedelta(minutes=12)) == []  # once
    task.refresh_from_db()
    assert task.snoozed_until is None and task.remind_at == task.due_at - timedelta(minutes=30)


def test_a_completed_tasks_snoozed_reminder_never_fires(alice_api, alice):
    task, notification = due_reminder(alice)
    assert snooze(alice_api, notification.pk, {"minutes": 5}).status_code == 200
    services.task_complete(task=task)
    assert fired_for(task, at=timezone.now() + timedelta(minutes=30)) == []


def test_a_new_due_date_replaces_the_snooze(alice_api, alice):
    task, notification = due_reminder(alice)
    snooze(alice_api, notification.pk, {"minutes": 5})
    new_due = (timezone.now() + timedelta(hours=3)).replace(microsecond=0)
    alice_api.patch(f"/api/tasks/{task.pk}", {"due_at": new_due.isoformat()}, content_type="application/json")
    task.refresh_from_db()
    assert task.snoozed_until is None and task.remind_at == new_due - timedelta(minutes=30)
    assert fired_for(task, at=timezone.now() + timedelta(minutes=6)) == []


@pytest.mark.parametrize("body", [{"minutes": 0}, {"minutes": -3}, {"minutes": 1441}, {"minutes": "ten"}, {},
                                  {"minutes": 10**20}])
def test_snooze_minutes_are_bounded(alice_api, alice, body):
    task, notification = due_reminder(alice)
    response = snooze(alice_api, notification.pk, body)
    assert response.status_code == 422
    assert "minutes" in str(response.json()["detail"])
    task.refresh_from_db()
    assert task.reminder_sent_at is not None  # nothing re-armed


def test_another_users_notification_cannot_be_snoozed(bob_api, alice):
    _, notification = due_reminder(alice)
    assert snooze(bob_api, notification.pk, {"minutes": 10}).status_code == 404


@pytest.mark.parametrize("change, words", [
    (lambda task: services.task_complete(task=task), "completed"),
    (lambda task: services.task_delete(task=task), "deleted"),
    (lambda task: services.task_update(task=task, reminder_minutes_before=None), "no reminder"),
])
def test_nothing_to_re_arm_is_a_422_saying_why(alice_api, alice, change, words):
    task, notification = due_reminder(alice)
    change(task)
    response = snooze(alice_api, notification.pk, {"minutes": 10})
    assert response.status_code == 422
    assert words in str(response.json()["detail"])
