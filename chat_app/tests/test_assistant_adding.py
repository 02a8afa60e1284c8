"""The offline assistant adds tasks: priority, tags, due dates, recurrence, reminders — through the MCP tools."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tasks_app.models import Task

from .conftest import say

pytestmark = pytest.mark.django_db


def only_task(user) -> Task:
    (task,) = Task.objects.filter(user=user)
    return task


def local(dt):
    return timezone.localtime(dt)


def test_the_demo_message_adds_a_weekly_p1_task_with_tags_and_a_reminder(alice):
    turn = say(alice, "Add a P1 task called 'Weekly team standup' tagged 'work' and 'meetings' that recurs weekly "
                      "with a 30-minute reminder")
    task = only_task(alice)
    assert (task.title, task.priority, task.recurrence, task.reminder_minutes_before) == (
        "Weekly team standup", "P1", "FREQ=WEEKLY", 30)
    assert sorted(tag.name for tag in task.tags.all()) == ["meetings", "work"]
    assert [call["name"] for call in turn.tool_calls] == ["add_task"]
    assert turn.tool_calls[0]["arguments"] == {"title": "Weekly team standup", "priority": "P1",
                                               "tags": ["work", "meetings"], "recurrence": "FREQ=WEEKLY",
                                               "reminder_minutes_before": 30}
    assert turn.tool_calls[0]["result"]["id"] == task.pk
    assert "Added “Weekly team standup”" in turn.reply and "weekly" in turn.reply and "30 minutes" in turn.reply


@pytest.mark.parametrize("message, priority", [
    ("add a P2 task called 'Send invoice'", "P2"),
    ("add 'Send invoice' p4", "P4"),
    ("create an urgent task called 'Send invoice'", "P1"),
    ("add a high priority task 'Send invoice'", "P2"),
    ("add a low priority task 'Send invoice'", "P4"),
    ("add a low task 'Send invoice'", "P4"),
    ("add 'Send invoice'", "P3"),
])
def test_priority(alice, message, priority):
    say(alice, message)
    assert (only_task(alice).title, only_task(alice).priority) == ("Send invoice", priority)


@pytest.mark.parametrize("message, tags", [
    ("add 'Budget' tagged work and meetings", ["meetings", "work"]),
    ("add budget review #work #finance", ["finance", "work"]),
    ("add 'Budget' with tags work, finance and q3", ["finance", "q3", "work"]),
])
def test_tags(alice, message, tags):
    say(alice, message)
    assert sorted(tag.name for tag in only_task(alice).tags.all()) == tags


def test_due_dates_in_natural_language(alice, midday):
    today = local(timezone.now()).date()
    say(alice, "add buy milk tomorrow 5pm")
    milk = Task.objects.get(user=alice, title="Buy milk")
    assert (local(milk.due_at).date(), local(milk.due_at).hour, local(milk.due_at).minute) == (
        today + timedelta(days=1), 17, 0)

    say(alice, "add 'Call the plumber' next Friday")
    plumber = local(Task.objects.get(title="Call the plumber").due_at)
    assert plumber.weekday() == 4 and 0 < (plumber.date() - today).days <= 7 and plumber.hour == 9

    say(alice, "add 'Renew passport' in 3 days")
    assert local(Task.objects.get(title="Renew passport").due_at).date() == today + timedelta(days=3)

    say(alice, "add 'File taxes' on 2027-01-15")
    assert local(Task.objects.get(title="File taxes").due_at).date().isoformat() == "2027-01-15"


@pytest.mark.parametrize("message, rule", [
    ("add 'Water plants' every day", "FREQ=DAILY"),
    ("add 'Review' every week", "FREQ=WEEKLY"),
    ("add 'Pay rent' every month", "FREQ=MONTHLY"),
    ("add 'Standup' weekly", "FREQ=WEEKLY"),
    ("add 'Clean the fridge' every 2 weeks", "FREQ=WEEKLY;INTERVAL=2"),
    ("add 'Gym' every Monday", "FREQ=WEEKLY;BYDAY=MO"),
    ("add 'Stretch' every weekday", "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR"),
])
def test_recurrence(alice, message, rule):
    say(alice, message)
    assert only_task(alice).recurrence == rule


def test_a_weekday_rule_without_a_date_starts_on_that_weekday(alice):
    say(alice, "add 'Gym' every Monday")
    due = local(only_task(alice).due_at)
    assert due.weekday() == 0 and due.hour == 9 and due > local(timezone.now())


@pytest.mark.parametrize("message, minutes", [
    ("add 'Dentist' tomorrow at 3pm with a 30-minute reminder", 30),
    ("add 'Dentist' tomorrow at 3pm, remind me 1 hour before", 60),
    ("remind me to call mom tomorrow at 5pm", 0),
])
def test_reminders(alice, message, minutes):
    turn = say(alice, message)
    task = only_task(alice)
    assert task.reminder_minutes_before == minutes
    assert task.due_at is not None
    assert "reminder" in turn.reply


def test_a_title_without_quotes_is_what_is_left_of_the_sentence(alice):
    say(alice, "create a high priority task to call the dentist next Friday #health")
    task = only_task(alice)
    assert (task.title, task.priority, [t.name for t in task.tags.all()]) == ("Call the dentist", "P2", ["health"])


def test_an_add_without_a_title_is_not_guessed(alice):
    turn = say(alice, "add tomorrow at 5pm")
    assert not Task.objects.exists()
    assert turn.tool_calls == []
    assert "didn't understand what the new task should be called" in turn.reply
