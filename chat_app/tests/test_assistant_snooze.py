"""Snoozing the newest reminder from the chat: "snooze", "snooze it 15 minutes"."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tasks_app import services
from tasks_app.models import Task

from .conftest import say

pytestmark = pytest.mark.django_db


def fired_reminder(user) -> Task:
    task = services.task_create(user=user, title="Call Sam", due_at=timezone.now() + timedelta(minutes=10),
                                reminder_minutes_before=30)
    assert [n.task_id for n in services.reminders_claim_due() if n.task_id == task.pk] == [task.pk]
    return task


@pytest.mark.parametrize("message, minutes", [("snooze", 10), ("snooze it 15 minutes", 15),
                                              ("snooze the reminder for an hour", 60)])
def test_snoozing_from_the_chat_re_arms_the_newest_reminder(alice, message, minutes):
    task = fired_reminder(alice)
    before = timezone.now()
    turn = say(alice, message)
    assert [call["name"] for call in turn.tool_calls] == ["list_notifications", "snooze_notification"]
    task.refresh_from_db()
    assert before + timedelta(minutes=minutes) <= task.remind_at <= timezone.now() + timedelta(minutes=minutes)
    assert task.reminder_sent_at is None
    assert "Call Sam" in turn.reply and timezone.localtime(task.remind_at).strftime("%H:%M") in turn.reply


def test_snoozing_with_no_reminder_says_so(alice):
    turn = say(alice, "snooze")
    assert turn.reply == "There is no reminder to snooze."


def test_snoozing_past_a_day_is_refused_and_nothing_changes(alice):
    task = fired_reminder(alice)
    turn = say(alice, "snooze it 3 days")
    assert "couldn't" in turn.reply and "1440" in turn.reply
    task.refresh_from_db()
    assert task.reminder_sent_at is not None
