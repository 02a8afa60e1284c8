"""MCP: list_tasks with `recurring`, `has_reminder` and sort=±updated_at, and the list_recurring_tasks tool —
through a real in-memory MCP client session and over streamable HTTP, on the real database."""

from datetime import datetime, timezone

import pytest

from tasks_app.accounts import api_token_issue
from tasks_app.models import Task
from tasks_app.services import task_complete, task_create, task_update

from .conftest import call_tool, tool_json
from .test_mcp_http import over_http

MONDAY = datetime(2027, 3, 1, 9, 0, tzinfo=timezone.utc)


def make_tasks(alice, bob):
    task_create(user=alice, title="Standup", recurrence="weekdays", due_at=MONDAY.replace(day=2),
                reminder_minutes_before=10)
    task_create(user=alice, title="Water plants", recurrence="FREQ=WEEKLY;INTERVAL=2", due_at=MONDAY)
    task_create(user=alice, title="Stretch", recurrence="daily")
    task_create(user=alice, title="Dentist", due_at=MONDAY, reminder_minutes_before=60)
    task_create(user=alice, title="Buy milk")
    # A series of one: completed, it has no next occurrence, whether or not the package's worker is up.
    task_complete(task=task_create(user=alice, title="Old review", recurrence="FREQ=MONTHLY;COUNT=1", due_at=MONDAY))
    task_create(user=bob, title="Bob's gym", recurrence="daily", due_at=MONDAY)


def titles(user, **arguments) -> list[str]:
    return [item["title"] for item in tool_json(user, "list_tasks", arguments)["items"]]


@pytest.mark.django_db
def test_list_tasks_filters_by_recurring_and_reminder(alice, bob):
    make_tasks(alice, bob)
    assert titles(alice, recurring=True, completed=False) == ["Stretch", "Water plants", "Standup"]
    assert titles(alice, recurring=False) == ["Buy milk", "Dentist"]
    assert titles(alice, has_reminder=True) == ["Dentist", "Standup"]
    assert titles(alice, has_reminder=False, recurring=True, sort="title") == ["Old review", "Stretch",
                                                                                 "Water plants"]


@pytest.mark.django_db
def test_list_tasks_sorts_by_last_change_and_pages_with_it(alice, bob):
    make_tasks(alice, bob)
    task_update(task=Task.objects.get(title="Standup"), priority="P1")
    assert titles(alice, sort="-updated_at", completed=False)[:2] == ["Standup", "Buy milk"]
    assert titles(alice, sort="updated_at", completed=False)[-1] == "Standup"
    pages, cursor = [], None
    while True:
        page = tool_json(alice, "list_tasks", {"sort": "-updated_at", "limit": 2, **({"cursor": cursor} if cursor
                                                                                      else {})})
        pages.append([item["title"] for item in page["items"]])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert [title for page in pages for title in page] == titles(alice, sort="-updated_at")
    assert [len(page) for page in pages] == [2, 2, 2]


@pytest.mark.django_db
def test_list_tasks_refuses_bad_values_of_the_new_parameters(alice):
    for arguments, name in [({"recurring": "sometimes"}, "recurring"), ({"has_reminder": 3}, "has_reminder"),
                            ({"sort": "updated"}, "sort")]:
        result = call_tool(alice, "list_tasks", arguments)
        assert result.is_error and name in result.content[0].text, result


@pytest.mark.django_db
def test_list_recurring_tasks_gives_each_open_series_next_due_date_and_rule_in_words(alice, bob):
    make_tasks(alice, bob)
    result = tool_json(alice, "list_recurring_tasks")
    assert result["count"] == 3 and result["next_cursor"] is None
    assert [(item["title"], item["next_due_at"], item["recurrence"], item["repeats"]) for item in result["items"]] == [
        ("Water plants", "2027-03-01T09:00:00Z", "FREQ=WEEKLY;INTERVAL=2", "every 2 weeks"),
        ("Standup", "2027-03-02T09:00:00Z", "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR", "every weekday"),
        ("Stretch", None, "FREQ=DAILY", "daily"),
    ]
    assert result["items"][0]["id"] == Task.objects.get(title="Water plants").pk
    first = tool_json(alice, "list_recurring_tasks", {"limit": 2})
    rest = tool_json(alice, "list_recurring_tasks", {"limit": 2, "cursor": first["next_cursor"]})
    assert [item["title"] for item in first["items"] + rest["items"]] == ["Water plants", "Standup", "Stretch"]
    assert [item["title"] for item in tool_json(bob, "list_recurring_tasks")["items"]] == ["Bob's gym"]


def test_list_recurring_tasks_over_http_is_the_token_owners(asgi_server, alice, bob):
    make_tasks(alice, bob)
    tools, (recurring, filtered) = over_http(asgi_server.url, api_token_issue(user=alice), [
        ("list_recurring_tasks", {}),
        ("list_tasks", {"q": "sta", "recurring": True, "has_reminder": True, "sort": "-updated_at"}),
    ])
    tool = next(tool for tool in tools if tool.name == "list_recurring_tasks")
    assert tool.annotations.read_only_hint is True and tool.output_schema["type"] == "object"
    assert not recurring.is_error, recurring.content
    assert [(item["title"], item["repeats"]) for item in recurring.structured_content["items"]] == [
        ("Water plants", "every 2 weeks"), ("Standup", "every weekday"), ("Stretch", "daily")]
    assert [item["title"] for item in filtered.structured_content["items"]] == ["Standup"]
