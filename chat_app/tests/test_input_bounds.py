"""The MCP tools and the chat obey the REST API's text bounds: over-long text, a NUL character or
an unpaired surrogate is refused naming the argument, never a server error."""

import json

import pytest

from tasks_app.cleaning import MAX_LIST_ITEMS
from tasks_app.models import Task

from .conftest import call_tool, tool_json
from .test_mcp_tools import error_text, list_tools

pytestmark = pytest.mark.django_db

BAD_TEXT = ["a\x00b", "a\ud800b", "a\udfffb"]


def unnamed(user, calls) -> list:
    """The calls whose answer is not an error naming `field`: [] when every one is refused so."""
    wrong = []
    for tool, arguments, field in calls:
        result = call_tool(user, tool, arguments)
        if not result.is_error or field not in result.content[0].text:
            wrong.append((tool, arguments, result.content[0].text[:200]))
    return wrong


def test_add_task_refuses_unstorable_text_naming_the_argument(alice):
    calls = [("add_task", arguments, field) for bad in BAD_TEXT for arguments, field in (
        ({"title": bad}, "title"), ({"title": "ok", "description": bad}, "description"),
        ({"title": "ok", "tags": ["work", bad]}, "tags"), ({"title": "ok", "recurrence": bad}, "recurrence"))]
    assert unnamed(alice, calls) == []
    assert not Task.objects.exists()


def test_update_task_refuses_unstorable_text_naming_the_argument(alice):
    task = tool_json(alice, "add_task", {"title": "ok", "description": "kept"})
    calls = [("update_task", {"task_id": task["id"], field: bad}, field)
             for bad in BAD_TEXT for field in ("title", "description")]
    calls += [("update_task", {"task_id": task["id"], "tags": [bad]}, "tags") for bad in BAD_TEXT]
    assert unnamed(alice, calls) == []
    assert Task.objects.get(pk=task["id"]).description == "kept"


def test_list_tasks_refuses_unstorable_text_naming_the_argument(alice):
    calls = [("list_tasks", arguments, field) for bad in BAD_TEXT for arguments, field in (
        ({"q": bad}, "q"), ({"tags": [bad]}, "tags"), ({"cursor": bad}, "cursor"))]
    assert unnamed(alice, calls) == []


def test_the_tools_have_the_rest_apis_bounds_in_their_schemas(alice, settings):
    tools = {tool.name: tool.input_schema for tool in list_tools(alice)}
    add = tools["add_task"]["properties"]
    assert add["description"]["maxLength"] == settings.TASK_DESCRIPTION_MAX_LENGTH
    assert add["tags"]["maxItems"] == MAX_LIST_ITEMS
    assert add["tags"]["items"]["maxLength"] > 0
    listing = tools["list_tasks"]["properties"]
    assert any(option.get("maxLength") for option in listing["q"]["anyOf"])
    assert listing["tags"]["anyOf"][0]["maxItems"] == MAX_LIST_ITEMS
    assert listing["priorities"]["anyOf"][0]["maxItems"] == MAX_LIST_ITEMS


def test_an_over_long_description_is_refused_through_the_tools(alice, settings):
    limit = settings.TASK_DESCRIPTION_MAX_LENGTH
    assert "description" in error_text(call_tool(alice, "add_task", {"title": "x", "description": "d" * (limit + 1)}))
    task = tool_json(alice, "add_task", {"title": "x", "description": "d" * limit})
    assert "description" in error_text(call_tool(alice, "update_task", {"task_id": task["id"],
                                                                          "description": "d" * (limit + 1)}))


def test_too_many_tags_are_refused_through_the_tools(alice):
    assert "tags" in error_text(call_tool(alice, "add_task", {"title": "x", "tags": ["t"] * (MAX_LIST_ITEMS + 1)}))


def test_a_chat_message_with_unstorable_text_is_422_naming_the_message(alice_api):
    for bad in ("a\\u0000b", "a\\ud800b", "a\\udfffb"):
        response = alice_api.post("/api/chat", '{"message": "add %s"}' % bad, content_type="application/json")
        assert response.status_code == 422, (bad, response.content)
        assert "message" in json.dumps(response.json()["detail"])


def test_the_chat_service_refuses_unstorable_text_whoever_calls_it(alice):
    from django.core.exceptions import ValidationError

    from chat_app.services import chat_send

    for bad in ("add a\x00b", "add a\udc00b"):
        with pytest.raises(ValidationError) as refused:
            chat_send(user=alice, message=bad)
        assert "message" in refused.value.message_dict
