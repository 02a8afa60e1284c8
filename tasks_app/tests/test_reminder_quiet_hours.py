"""Quiet hours: a reminder due while its user's quiet hours run (local time in their zone, the
window possibly across midnight) is not sent then but when they end, once; the scan finds it
again through its index (remind_at moves to the end of the window).  "now" is passed to the
claim, so these run at any wall-clock time."""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from tasks_app import services
from tasks_app.models import Notification, Task
from tasks_app.services.notifications import quiet_hours_end

pytestmark = pytest.mark.django_db

BERLIN = ZoneInfo("Europe/Berlin")
UTC = ZoneInfo("UTC")


def berlin(*args) -> datetime:
    return datetime(*args, tzinfo=BERLIN)


def quiet_user(user, start="22:00", end="07:00", zone="Europe/Berlin"):
    services.profile_ensure(user=user, timezone=zone)
    services.profile_update(user=user, timezone=zone, quiet_hours_start=start, quiet_hours_end=end)
    return user


def reminder_at(user, when: datetime, title="Call Sam") -> Task:
    return services.task_create(user=user, title=title, due_at=when, reminder_minutes_before=0)


def sent_for(task: Task, *, at: datetime) -> list[Notification]:
    return [n for n in services.reminders_claim_due(now=at) if n.task_id == task.pk]


def test_a_reminder_inside_quiet_hours_before_midnight_is_delivered_at_their_end(alice):
    quiet_user(alice)
    task = reminder_at(alice, berlin(2027, 3, 1, 23, 30))

    assert sent_for(task, at=berlin(2027, 3, 1, 23, 30)) == []
    task.refresh_from_db()
    assert task.remind_at == berlin(2027, 3, 2, 7, 0), "deferred to 07:00 the next morning, in the index"
    assert task.reminder_sent_at is None
    assert sent_for(task, at=berlin(2027, 3, 2, 6, 59, 59)) == []

    (notification,) = sent_for(task, at=berlin(2027, 3, 2, 7, 0))
    assert "Call Sam" in notification.message
    assert sent_for(task, at=berlin(2027, 3, 2, 8, 0)) == [], "sent once"
    task.refresh_from_db()
    assert task.snoozed_until is None and task.reminder_sent_at == berlin(2027, 3, 2, 7, 0)


def test_a_reminder_inside_quiet_hours_after_midnight_waits_until_the_same_morning(alice):
    quiet_user(alice)
    task = reminder_at(alice, berlin(2027, 3, 2, 3, 15))
    assert sent_for(task, at=berlin(2027, 3, 2, 3, 15)) == []
    task.refresh_from_db()
    assert task.remind_at == berlin(2027, 3, 2, 7, 0)
    assert len(sent_for(task, at=berlin(2027, 3, 2, 7, 0, 1))) == 1


def test_quiet_hours_are_read_in_the_users_own_zone(alice, bob):
    quiet_user(alice, zone="Europe/Berlin")
    quiet_user(bob, zone="America/New_York")
    # 23:30 in Berlin is 17:30 in New York: quiet for Alice, not for Bob.
    at = berlin(2027, 3, 1, 23, 30)
    alices, bobs = reminder_at(alice, at), reminder_at(bob, at)
    sent = services.reminders_claim_due(now=at)
    assert [n.task_id for n in sent] == [bobs.pk]
    alices.refresh_from_db()
    assert alices.remind_at == berlin(2027, 3, 2, 7, 0)


def test_a_reminder_outside_quiet_hours_and_one_of_a_user_without_them_fire_at_once(alice, bob):
    quiet_user(alice)
    daytime = reminder_at(alice, berlin(2027, 3, 1, 21, 59))
    no_quiet_hours = reminder_at(bob, berlin(2027, 3, 1, 23, 30))
    assert len(sent_for(daytime, at=berlin(2027, 3, 1, 21, 59))) == 1
    assert len(sent_for(no_quiet_hours, at=berlin(2027, 3, 1, 23, 30))) == 1


def test_a_window_within_one_day_defers_to_its_end_the_same_day(alice):
    quiet_user(alice, start="12:00", end="14:00")
    task = reminder_at(alice, berlin(2027, 3, 1, 12, 0))
    assert sent_for(task, at=berlin(2027, 3, 1, 12, 0)) == []
    task.refresh_from_db()
    assert task.remind_at == berlin(2027, 3, 1, 14, 0)


def test_a_new_due_date_drops_the_deferral(alice):
    quiet_user(alice)
    task = reminder_at(alice, berlin(2027, 3, 1, 23, 30))
    sent_for(task, at=berlin(2027, 3, 1, 23, 30))
    services.task_update(task=Task.objects.get(pk=task.pk), due_at=berlin(2027, 3, 2, 9, 0))
    task.refresh_from_db()
    assert task.snoozed_until is None and task.remind_at == berlin(2027, 3, 2, 9, 0)


def test_a_completed_task_deferred_by_quiet_hours_never_fires(alice):
    quiet_user(alice)
    task = reminder_at(alice, berlin(2027, 3, 1, 23, 30))
    sent_for(task, at=berlin(2027, 3, 1, 23, 30))
    services.task_complete(task=task)
    assert sent_for(task, at=berlin(2027, 3, 2, 7, 0)) == []


def test_quiet_hours_end_is_the_local_end_across_a_dst_change():
    # The night Berlin springs forward (2027-03-28, 02:00 -> 03:00): 07:00 local is 05:00 UTC, not 06:00.
    end = quiet_hours_end(now=berlin(2027, 3, 27, 23, 0), zone=BERLIN, start=time(22), end=time(7))
    assert end == datetime(2027, 3, 28, 5, 0, tzinfo=UTC)
    assert quiet_hours_end(now=berlin(2027, 3, 28, 7, 0), zone=BERLIN, start=time(22), end=time(7)) is None
    assert quiet_hours_end(now=berlin(2027, 3, 28, 21, 59), zone=BERLIN, start=time(22), end=time(7)) is None
    assert quiet_hours_end(now=berlin(2027, 3, 28, 22, 0), zone=BERLIN, start=time(22), end=time(7)) == \
        berlin(2027, 3, 29, 7, 0)
    assert berlin(2027, 3, 29, 7, 0) - berlin(2027, 3, 28, 22, 0) == timedelta(hours=9)
