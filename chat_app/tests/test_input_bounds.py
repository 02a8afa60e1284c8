"""The MCP tools and the chat obey the REST API's text bounds: over-long text, a NUL character or
an unpaired surrogate is refused naming the argument, never a server error."""

import json

import pytest

from tasks_app.cleaning import MAX_LIST_ITEMS
from tasks_app.models import Task

from .conftest import call_tool, tool_json
from .test_mcp_tools import error_text, list_tools

pytestmark = pytest.mark.django_db

BAD_TEXT = [pytest.param("a\x00b", id="nul"), pytest.param("a\ud800b", id="surrogate")]


@pytest.mark.parametrize("bad", BAD_TEXT)
@pytest.mark.parametrize("arguments, field", [
    (lambda bad: {"title": bad}, "title"),
    (lambda bad: {"title": "ok", "description": bad}, "description"),
    (lambda bad: {"title": "ok", "tags": ["work", bad]}, "tags"),
    (lambda bad: {"title": "ok", "recurrence": bad}, "recurrence"),
])
def test_add_task_refuses_unstorable_text_naming_the_argument(alice, bad, arguments, field):
    assert field in error_text(call_tool(alice, "add_task", arguments(bad)))
    assert not Task.objects.exists()


@pytest.mark.parametrize("bad", BAD_TEXT)
@pytest.mark.parametrize("field", ["title", "description"])
def test_update_task_refuses_unstorable_text_naming_the_argument(alice, bad, field):
    task = tool_json(alice, "add_task", {"title": "ok"})
    assert field in error_text(call_tool(alice, "update_task", {"task_id": task["id"], field: bad}))


@pytest.mark.parametrize("bad", BAD_TEXT)
@pytest.mark.parametrize("arguments, field", [
    (lambda bad: {"q": bad}, "q"),
    (lambda bad: {"tags": [bad]}, "tags"),
    (lambda bad: {"cursor": bad}, "cursor"),
])
def test_list_tasks_refuses_unstorable_text_naming_the_argument(alice, bad, arguments, field):
    assert field in error_text(call_tool(alice, "list_tasks", arguments(bad)))


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


@pytest.mark.parametrize("bad", ["a\\u0000b", "a\\ud800b"])
def test_a_chat_message_with_unstorable_text_is_422_naming_the_message(alice_api, bad):
    response = alice_api.post("/api/chat", '{"message": "add %s"}' % bad, content_type="application/json")
    assert response.status_code == 422, response.content
    assert "message" in json.dumps(response.json()["detail"])


def test_the_chat_service_refuses_unstorable_text_whoever_calls_it(alice):
    from django.core.exceptions import ValidationError

    from chat_app.services import chat_send

    for bad in ("add a\x00b", "add a\udc00b"):
        with pytest.raises(ValidationError) as refused:
            chat_send(user=alice, message=bad)
        assert "message" in refused.value.message_dict
