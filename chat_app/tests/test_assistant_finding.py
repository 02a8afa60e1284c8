"""The offline assistant lists and searches with filters, sorting and pages — through list_tasks."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tasks_app import services

# "today" and "tomorrow" are read by the assistant and by the test: one clock, set to noon (conftest.midday).
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("midday")]


@pytest.fixture
def tasks(alice, bob):
    now = timezone.now()
    made = {
        "standup": services.task_create(user=alice, title="Weekly team standup", priority="P1",
                                        tags=["work", "meetings"], due_at=now + timedelta(days=3)),
        "report": services.task_create(user=alice, title="Write the quarterly report", priority="P1", tags=["work"],
                                       due_at=now + timedelta(days=1)),
        "invoice": services.task_create(user=alice, title="Send invoice", priority="P2", tags=["work"],
                                        due_at=now - timedelta(days=2)),
        "plants": services.task_create(user=alice, title="Water plants", priority="P3", tags=["home"]),
        "bobs": services.task_create(user=bob, title="Bob's report", priority="P1", tags=["work"]),
    }
    services.task_complete(task=services.task_create(user=alice, title="Old report draft", priority="P1",
                                                     tags=["work"]))
    return made


def listed(turn) -> list[str]:
    (call,) = [call for call in turn.tool_calls if call["name"] == "list_tasks"]
    return [item["title"] for item in call["result"]["items"]]


def test_the_demo_query_lists_p1_work_tasks_by_due_date(alice_chat, tasks):
    turn = alice_chat("Show me all P1 tasks tagged 'work' sorted by due date")
    assert turn.tool_calls[0]["arguments"] == {"priorities": ["P1"], "tags": ["work"], "sort": "due_at"}
    assert listed(turn) == ["Write the quarterly report", "Weekly team standup", "Old report draft"]
    assert turn.reply.startswith("3 P1 tasks tagged work, soonest due first:")
    assert turn.reply.index("Write the quarterly report") < turn.reply.index("Weekly team standup")


def test_my_p1_tasks_means_the_open_ones(alice_chat, tasks):
    turn = alice_chat("show my P1 tasks tagged work sorted by due date")
    assert listed(turn) == ["Write the quarterly report", "Weekly team standup"]
    assert "open P1 tasks tagged work" in turn.reply


def test_whats_overdue(alice_chat, tasks):
    turn = alice_chat("what's overdue?")
    assert turn.tool_calls[0]["arguments"]["overdue"] is True
    assert listed(turn) == ["Send invoice"]
    assert "1 overdue task" in turn.reply


def test_find_tasks_about_words_uses_full_text_search(alice_chat, tasks):
    turn = alice_chat("find tasks about the report")
    assert turn.tool_calls[0]["arguments"] == {"q": "report"}
    assert sorted(listed(turn)) == ["Old report draft", "Write the quarterly report"]
    assert "Bob" not in turn.reply


@pytest.mark.parametrize("message, expected", [
    ("show completed tasks", ["Old report draft"]),
    ("show my tasks without a due date", ["Water plants"]),
    ("show my tasks tagged home", ["Water plants"]),
    ("list my P2 tasks", ["Send invoice"]),
    ("show my P1 and P2 tasks sorted by priority", ["Weekly team standup", "Write the quarterly report",
                                                   "Send invoice"]),
    ("what's due tomorrow?", ["Write the quarterly report"]),
    ("show tasks due in the next 4 days sorted by due date", ["Write the quarterly report", "Weekly team standup"]),
    ("show my tasks alphabetically", ["Send invoice", "Water plants", "Weekly team standup",
                                      "Write the quarterly report"]),
])
def test_filters_and_sorts(alice_chat, tasks, message, expected):
    assert listed(alice_chat(message)) == expected


def test_show_more_follows_the_cursor(alice_chat, alice):
    for number in range(25):
        services.task_create(user=alice, title=f"Chore {number:02d}")
    first = alice_chat("show my tasks alphabetically")
    assert len(listed(first)) == 20 and "say “show more”" in first.reply
    more = alice_chat("show more")
    assert more.tool_calls[0]["arguments"]["cursor"] == first.tool_calls[0]["result"]["next_cursor"]
    assert listed(more) == [f"Chore {number:02d}" for number in range(20, 25)]
    assert "show more" not in more.reply


def test_nothing_found_is_said_plainly(alice_chat, tasks):
    turn = alice_chat("find tasks about unicorns")
    assert turn.reply == "No tasks matching “unicorns”."


def test_tags_and_notifications(alice_chat, tasks):
    assert alice_chat("list my tags").reply == "Your tags: #home (1), #meetings (1), #work (4)."
    turn = alice_chat("show my notifications")
    assert [call["name"] for call in turn.tool_calls] == ["list_notifications"]
    assert turn.reply == "No notifications."
