"""The MCP tools through a real in-memory MCP client session, on the real database."""

from datetime import timedelta

import mcp
import pytest
from asgiref.sync import async_to_sync
from django.utils import timezone

from chat_app.mcp_server import build_server
from tasks_app.models import Notification, Task

from .conftest import call_tool, tool_json

pytestmark = pytest.mark.django_db

TOOLS = {"add_task", "list_tasks", "list_recurring_tasks", "get_task", "update_task", "complete_task",
         "reopen_task", "delete_task", "list_tags", "list_notifications",
         "set_timezone", "snooze_notification", "quick_add", "undo", "bulk_complete", "bulk_delete",
         "bulk_update",
         # chat_app.mcp_planning
         "list_occurrences", "plan_today", "list_saved_filters", "save_filter", "show_saved_filter"}


def list_tools(user):
    async def run():
        async with mcp.Client(build_server(user=user)) as client:
            return (await client.list_tools()).tools

    return async_to_sync(run)()


def error_text(result) -> str:
    assert result.is_error, result
    return result.content[0].text


def test_every_tool_is_listed_with_described_typed_parameters_and_an_output_schema(alice):
    tools = {tool.name: tool for tool in list_tools(alice)}
    assert set(tools) == TOOLS
    for tool in tools.values():
        assert tool.description, tool.name
        assert tool.output_schema and tool.output_schema["type"] == "object", tool.name
        properties = tool.input_schema.get("properties", {})
        # The user is bound by the server: no tool lets a caller say whose tasks to touch.
        assert not {"user", "user_id", "username", "owner"} & set(properties), tool.name
        for name, schema in properties.items():
            assert schema.get("description"), f"{tool.name}.{name} has no description"
    assert set(tools["list_tasks"].input_schema["properties"]) == {
        "q", "priorities", "tags", "completed", "due_before", "due_after", "overdue", "has_due", "recurring",
        "has_reminder", "sort", "cursor", "limit"}
    assert tools["delete_task"].annotations.destructive_hint is True
    assert tools["list_tasks"].annotations.read_only_hint is True


def test_add_task_creates_the_task_for_the_bound_user_and_returns_it(alice):
    task = tool_json(alice, "add_task", {
        "title": "Weekly team standup", "priority": "P1", "tags": ["work", "meetings"],
        "due_at": "2027-01-15T09:00:00+00:00", "recurrence": "weekly", "reminder_minutes_before": 30,
    })
    stored = Task.objects.get(pk=task["id"])
    assert stored.user == alice
    assert (stored.title, stored.priority, stored.recurrence, stored.reminder_minutes_before) == (
        "Weekly team standup", "P1", "FREQ=WEEKLY", 30)
    assert task["tags"] == ["meetings", "work"]
    assert task["due_at"].startswith("2027-01-15T09:00:00")


def test_get_update_complete_reopen_and_delete(alice):
    task = tool_json(alice, "add_task", {"title": "Draft report", "due_at": "2027-02-01T10:00:00+00:00",
                                         "description": "first pass"})
    assert tool_json(alice, "get_task", {"task_id": task["id"]})["title"] == "Draft report"

    updated = tool_json(alice, "update_task", {"task_id": task["id"], "title": "Final report", "priority": "P2",
                                               "tags": ["work"], "clear": ["due_at", "description"]})
    assert (updated["title"], updated["priority"], updated["tags"], updated["due_at"], updated["description"]) == (
        "Final report", "P2", ["work"], None, "")

    assert tool_json(alice, "complete_task", {"task_id": task["id"]})["completed"] is True
    assert Task.objects.get(pk=task["id"]).completed_at is not None
    assert tool_json(alice, "reopen_task", {"task_id": task["id"]})["completed"] is False

    assert tool_json(alice, "delete_task", {"task_id": task["id"]}) == {
        "deleted": True, "id": task["id"], "title": "Final report"}
    assert not Task.objects.filter(pk=task["id"]).exists()


def test_list_tasks_passes_every_filter_sort_and_page_option(alice):
    now = timezone.now()
    for title, priority, tags, due in [
        ("Quarterly report draft", "P1", ["work"], now + timedelta(days=2)),
        ("Report expenses", "P1", ["work", "finance"], now + timedelta(days=1)),
        ("Water plants", "P3", ["home"], None),
        ("Overdue invoice report", "P2", ["work"], now - timedelta(days=1)),
    ]:
        tool_json(alice, "add_task", {"title": title, "priority": priority, "tags": tags,
                                      "due_at": due.isoformat() if due else None})
    done = tool_json(alice, "add_task", {"title": "Old report", "priority": "P1", "tags": ["work"]})
    tool_json(alice, "complete_task", {"task_id": done["id"]})

    def titles(**arguments):
        return [item["title"] for item in tool_json(alice, "list_tasks", arguments)["items"]]

    assert titles(q="reports", completed=False, sort="title") == [
        "Overdue invoice report", "Quarterly report draft", "Report expenses"]
    assert titles(priorities=["P1"], tags=["work"], sort="due_at") == [
        "Report expenses", "Quarterly report draft", "Old report"]
    assert titles(completed=True) == ["Old report"]
    assert titles(overdue=True) == ["Overdue invoice report"]
    assert titles(has_due=False, completed=False) == ["Water plants"]
    assert titles(due_after=now.isoformat(), due_before=(now + timedelta(days=3)).isoformat(), sort="-due_at") == [
        "Quarterly report draft", "Report expenses"]
    assert titles(tags=["finance", "work"]) == ["Report expenses"]

    first = tool_json(alice, "list_tasks", {"sort": "title", "limit": 2})
    assert first["count"] == 5 and len(first["items"]) == 2 and first["next_cursor"]
    second = tool_json(alice, "list_tasks", {"sort": "title", "limit": 2, "cursor": first["next_cursor"]})
    third = tool_json(alice, "list_tasks", {"sort": "title", "limit": 2, "cursor": second["next_cursor"]})
    paged = [item["title"] for page in (first, second, third) for item in page["items"]]
    assert paged == sorted(paged) and len(set(paged)) == 5 and third["next_cursor"] is None


def test_list_tags_counts_the_users_tasks(alice, bob):
    tool_json(alice, "add_task", {"title": "A", "tags": ["work", "home"]})
    tool_json(alice, "add_task", {"title": "B", "tags": ["work"]})
    tool_json(bob, "add_task", {"title": "C", "tags": ["bobs"]})
    assert tool_json(alice, "list_tags") == {"tags": [{"name": "home", "task_count": 1},
                                                      {"name": "work", "task_count": 2}]}


def test_list_notifications_shows_the_users_notifications(alice, bob):
    task = Task.objects.create(user=alice, title="Call mom")
    Notification.objects.create(user=alice, task=task, message="“Call mom” is due in 30 min")
    Notification.objects.create(user=alice, task=task, message="older, read", read_at=timezone.now())
    Notification.objects.create(user=bob, message="bob's")
    everything = tool_json(alice, "list_notifications")
    assert [item["message"] for item in everything["items"]] == ["older, read", "“Call mom” is due in 30 min"]
    unread = tool_json(alice, "list_notifications", {"unread_only": True})
    assert [(item["message"], item["task_id"]) for item in unread["items"]] == [
        ("“Call mom” is due in 30 min", task.pk)]


def test_another_users_task_is_not_found_and_unchanged(alice, bob):
    task = tool_json(alice, "add_task", {"title": "Alice's secret"})
    for name, arguments in [("get_task", {}), ("update_task", {"title": "hacked"}), ("complete_task", {}),
                            ("reopen_task", {}), ("delete_task", {})]:
        assert error_text(call_tool(bob, name, {"task_id": task["id"], **arguments})).endswith("task not found")
    assert tool_json(bob, "list_tasks")["count"] == 0
    assert Task.objects.get(pk=task["id"]).title == "Alice's secret"


@pytest.mark.parametrize("name, arguments, message", [
    ("add_task", {"title": "x", "recurrence": "every other blue moon"}, "invalid input: recurrence: invalid "
                                                                        "recurrence rule"),
    ("add_task", {"title": "x", "priority": "P9"}, "priority"),
    ("add_task", {"title": ""}, "title"),
    ("add_task", {"title": "x", "tags": [f"t{i}" for i in range(11)]}, "at most 10 tags"),
    ("get_task", {"task_id": 999999}, "task not found"),
    ("update_task", {"task_id": 1}, "nothing to change"),
    ("list_tasks", {"cursor": "not-a-cursor"}, "invalid input: cursor"),
    ("list_tasks", {"sort": "colour"}, "sort"),
    ("list_tasks", {"limit": 0}, "limit"),
])
def test_bad_input_is_a_tool_error_with_a_clear_message(alice, name, arguments, message):
    assert message in error_text(call_tool(alice, name, arguments))
    assert Task.objects.count() == 0
