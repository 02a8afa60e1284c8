"""The MCP tool quick_add: the same reading as POST /api/tasks/quick, through a real MCP session."""

import pytest

from tasks_app.models import Task

from .conftest import call_tool, tool_json

pytestmark = pytest.mark.django_db

TEXT = "Water the plants every Monday #home p4 remind me 15 minutes before"


def test_quick_add_creates_the_task_and_says_what_it_understood(alice):
    result = tool_json(alice, "quick_add", {"text": TEXT})
    task = result["task"]
    assert task["title"] == "Water the plants"
    assert task["priority"] == "P4" and task["tags"] == ["home"]
    assert task["recurrence"] == "FREQ=WEEKLY;BYDAY=MO"
    assert task["reminder_minutes_before"] == 15
    assert task["due_at"] is not None, "a weekly task starts on its first Monday"
    stored = Task.objects.get(pk=task["id"])
    assert stored.user == alice and stored.recurrence == "FREQ=WEEKLY;BYDAY=MO"
    spans = {(part["kind"], TEXT[part["start"]:part["end"]]) for part in result["parts"]}
    assert spans == {("title", "Water the plants"), ("recurrence", "every Monday"), ("tag", "#home"),
                     ("priority", "p4"), ("reminder", "remind me 15 minutes before")}
    for part in result["parts"]:
        assert TEXT[part["start"]:part["end"]] == part["text"]


def test_quick_add_without_a_title_is_a_tool_error_naming_the_problem(alice):
    result = call_tool(alice, "quick_add", {"text": "#home p1 tomorrow"})
    assert result.is_error
    assert "title" in result.content[0].text
    assert not Task.objects.exists()


@pytest.mark.parametrize("text, problem", [("x" * 1001, "1000"), ("", "at least 1"), ("a\x00b", "NUL")])
def test_quick_add_refuses_hostile_text(alice, text, problem):
    result = call_tool(alice, "quick_add", {"text": text})
    assert result.is_error and problem in result.content[0].text
    assert not Task.objects.exists()


def test_quick_add_is_listed_with_its_schema(alice):
    from asgiref.sync import async_to_sync
    import mcp

    from chat_app.mcp_server import build_server

    async def tools():
        async with mcp.Client(build_server(user=alice)) as client:
            return (await client.list_tools()).tools

    [tool] = [tool for tool in async_to_sync(tools)() if tool.name == "quick_add"]
    assert tool.input_schema["properties"]["text"]["maxLength"] == 1000
    assert "idempotency_key" in tool.input_schema["properties"]
    assert tool.input_schema["required"] == ["text"]
