"""The offline assistant finds recurring tasks, tasks with a reminder, what changed lately, and words
by their start (search as you type) — all through list_tasks."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tasks_app import services
from tasks_app.models import Task

# "today" and "tomorrow" are read by the assistant and by the test: one clock, set to noon (conftest.midday).
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("midday")]


@pytest.fixture
def tasks(alice, bob):
    now = timezone.now()
    services.task_create(user=alice, title="Weekly team standup", recurrence="weekly", due_at=now + timedelta(days=1),
                         reminder_minutes_before=15)
    services.task_create(user=alice, title="Water plants", recurrence="FREQ=WEEKLY;INTERVAL=2")
    services.task_create(user=alice, title="Send invoice", due_at=now + timedelta(days=2), reminder_minutes_before=60)
    services.task_create(user=alice, title="Buy milk")
    # A series of one: completed, it has no next occurrence, whether or not the package's worker is up.
    services.task_complete(task=services.task_create(user=alice, title="Old review", recurrence="FREQ=MONTHLY;COUNT=1",
                                                     reminder_minutes_before=0))
    services.task_create(user=bob, title="Bob's gym", recurrence="daily", reminder_minutes_before=5)


def listed(turn) -> list[str]:
    (call,) = [call for call in turn.tool_calls if call["name"] == "list_tasks"]
    return [item["title"] for item in call["result"]["items"]]


def test_show_my_recurring_tasks(alice_chat, tasks):
    turn = alice_chat("show my recurring tasks")
    assert turn.tool_calls[0]["arguments"] == {"recurring": True, "completed": False}
    assert listed(turn) == ["Water plants", "Weekly team standup"]
    assert turn.reply.startswith("2 open recurring tasks:")
    assert "every 2 weeks" in turn.reply and "Bob" not in turn.reply


def test_one_off_tasks(alice_chat, tasks):
    assert listed(alice_chat("list my one-off tasks")) == ["Buy milk", "Send invoice"]


@pytest.mark.parametrize("message", ["what has a reminder?", "which tasks have reminders?",
                                     "show my tasks with a reminder"])
def test_what_has_a_reminder(alice_chat, tasks, message):
    turn = alice_chat(message)
    assert turn.tool_calls[0]["arguments"] == {"has_reminder": True, "completed": False}
    assert listed(turn) == ["Send invoice", "Weekly team standup"]
    assert turn.reply.startswith("2 open tasks with a reminder:")


def test_tasks_without_a_reminder(alice_chat, tasks):
    assert listed(alice_chat("show my tasks without a reminder")) == ["Buy milk", "Water plants"]


@pytest.mark.parametrize("message", ["recently changed", "recently updated", "what changed recently?",
                                     "show recently changed tasks"])
def test_recently_changed_lists_the_last_changed_first_done_ones_too(alice_chat, tasks, message):
    services.task_update(task=Task.objects.get(title="Water plants"), priority="P1")
    turn = alice_chat(message)
    assert turn.tool_calls[0]["arguments"] == {"sort": "-updated_at"}
    assert listed(turn) == ["Water plants", "Old review", "Buy milk", "Send invoice", "Weekly team standup"]
    assert turn.reply.startswith("5 tasks, most recently changed first:")


def test_show_more_pages_a_recently_changed_list(alice_chat, alice):
    made = [services.task_create(user=alice, title=f"Chore {number:02d}") for number in range(25)]
    services.task_update(task=made[3], title="Chore 03 (changed)")
    first = alice_chat("recently changed")
    assert listed(first)[0] == "Chore 03 (changed)" and len(listed(first)) == 20
    more = alice_chat("show more")
    assert more.tool_calls[0]["arguments"] == {"sort": "-updated_at", "cursor": first.tool_calls[0]["result"][
        "next_cursor"]}
    assert listed(more) == ["Chore 05", "Chore 04", "Chore 02", "Chore 01", "Chore 00"]


def test_find_matches_the_start_of_the_last_word(alice_chat, tasks):
    turn = alice_chat("find stan")
    assert turn.tool_calls[0]["arguments"] == {"q": "stan"}
    assert listed(turn) == ["Weekly team standup"]
    assert listed(alice_chat("find tasks about the inv")) == ["Send invoice"]


def test_a_task_named_by_the_start_of_its_title_is_found_to_complete(alice_chat, tasks):
    turn = alice_chat("mark invo as done")
    assert turn.reply == "Marked “Send invoice” as done."
