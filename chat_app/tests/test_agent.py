"""The agent path, offline: a scripted model (the SDK's own test model, and a local OpenAI-compatible HTTP
server for OPENAI_BASE_URL) drives the real Agent, whose tool calls reach the MCP tools as the right user."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from agents.testing import ModelStep, ScriptedModel, assistant_message, function_call
from django.utils import timezone

from chat_app.models import Message
from chat_app.services import chat_send
from tasks_app import services
from tasks_app.models import Task

pytestmark = pytest.mark.django_db


def tool_outputs(call) -> list[str]:
    """What the tools said, as the model sees it in its next call's input (text, or input_text parts)."""
    texts = []
    for item in call.input:
        if isinstance(item, dict) and item.get("type") == "function_call_output":
            output = item["output"]
            parts = output if isinstance(output, list) else [output]
            texts.append("".join(part if isinstance(part, str) else part.get("text", "") for part in parts))
    return texts


def test_tool_calls_reach_the_mcp_tools_as_the_user_and_the_reply_is_stored(alice, bob):
    bobs = services.task_create(user=bob, title="Bob's plan")
    model = ScriptedModel([
        [function_call("add_task", {"title": "Scripted task", "priority": "P2", "tags": ["ai"]}, call_id="c1")],
        [function_call("list_tasks", {}, call_id="c2"), function_call("get_task", {"task_id": bobs.pk}, call_id="c3")],
        [assistant_message("Added “Scripted task”.")],
    ])
    turn = chat_send(user=alice, message="Add a P2 task called Scripted task tagged ai", model=model)

    task = Task.objects.get(title="Scripted task")
    assert (task.user, task.priority, [t.name for t in task.tags.all()]) == (alice, "P2", ["ai"])
    assert turn.reply == "Added “Scripted task”."
    assert [call["name"] for call in turn.tool_calls] == ["add_task", "list_tasks", "get_task"]
    assert [item["title"] for item in turn.tool_calls[1]["result"]["items"]] == ["Scripted task"]
    assert turn.tool_calls[2]["result"] == {"error": "task not found"}
    assert Task.objects.get(pk=bobs.pk).title == "Bob's plan"

    stored = Message.objects.filter(conversation_id=turn.conversation_id).order_by("id")
    assert [(m.role, m.engine) for m in stored] == [("user", ""), ("assistant", "agent")]
    assert stored[1].content == "Added “Scripted task”." and stored[1].tool_calls == turn.tool_calls
    model.assert_complete()


def test_the_model_sees_tool_results_and_acts_on_them(alice):
    milk = services.task_create(user=alice, title="Buy milk")

    def complete_what_was_found(call):
        (output,) = tool_outputs(call)
        found = json.loads(output)
        return [function_call("complete_task", {"task_id": found["items"][0]["id"]}, call_id="c2")]

    model = ScriptedModel([
        [function_call("list_tasks", {"q": "milk"}, call_id="c1")],
        ModelStep.respond(complete_what_was_found),
        [assistant_message("Done: Buy milk.")],
    ])
    turn = chat_send(user=alice, message="I bought the milk", model=model)
    assert Task.objects.get(pk=milk.pk).completed
    assert turn.tool_calls[1]["arguments"] == {"task_id": milk.pk}


def test_instructions_know_the_date_time_and_zone_and_the_tools_are_the_mcp_tools(alice):
    model = ScriptedModel([[assistant_message("Hi")]])
    chat_send(user=alice, message="hello", model=model)
    call = model.first_call
    now = timezone.localtime()
    assert now.strftime("%A %Y-%m-%d") in call.system_instructions
    assert str(now.tzinfo) in call.system_instructions
    assert {tool.name for tool in call.tools} == {
        "add_task", "list_tasks", "list_recurring_tasks", "get_task", "update_task", "complete_task", "reopen_task",
        "delete_task", "list_tags", "list_notifications", "set_timezone", "snooze_notification", "quick_add",
        "undo", "bulk_complete", "bulk_delete", "bulk_update",
        "list_occurrences", "plan_today", "list_saved_filters", "save_filter", "show_saved_filter",
        # The agent's own: they only stage a change of several tasks for the user's yes (chat_app.confirmations).
        "delete_tasks", "complete_tasks"}


def test_a_conversation_continues_with_its_history_and_what_the_tools_did(alice):
    first = chat_send(user=alice, message="add standup", model=ScriptedModel([
        [function_call("add_task", {"title": "Standup"}, call_id="c1")], [assistant_message("Added it.")]]))
    model = ScriptedModel([[assistant_message("Which one?")]])
    chat_send(user=alice, message="mark it as done", conversation_id=first.conversation_id, model=model)
    history = model.first_call.input
    assert history[0] == {"role": "user", "content": "add standup"}
    assert history[1]["role"] == "assistant" and history[1]["content"].startswith("Added it.")
    assert "add_task" in history[1]["content"] and "“Standup”" in history[1]["content"]
    assert history[-1] == {"role": "user", "content": "mark it as done"}


# --------------------------------------------------------------------------- OPENAI_BASE_URL


class FakeOpenAI(ThreadingHTTPServer):
    """An OpenAI-compatible Chat Completions server on 127.0.0.1 answering from a script."""

    def __init__(self, replies: list[tuple[int, dict]]):
        super().__init__(("127.0.0.1", 0), _FakeOpenAIHandler)
        self.replies = list(replies)
        self.requests: list[tuple[dict, dict]] = []

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"


class _FakeOpenAIHandler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.requests.append((self.path, dict(self.headers), body))
        status, reply = self.server.replies.pop(0)
        payload = json.dumps(reply).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


def completion(message: dict, finish_reason: str) -> tuple[int, dict]:
    return 200, {"id": "chatcmpl-1", "object": "chat.completion", "created": 0, "model": "local-model",
                 "choices": [{"index": 0, "finish_reason": finish_reason, "message": {"role": "assistant", **message}}],
                 "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}


@pytest.fixture
def fake_openai(settings):
    servers = []

    def start(replies):
        server = FakeOpenAI(replies)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        settings.OPENAI_API_KEY = "test-key"
        settings.OPENAI_BASE_URL = server.base_url
        settings.OPENAI_MODEL = "local-model"
        return server

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def test_with_a_key_and_a_base_url_the_agent_talks_chat_completions_to_that_server(alice, fake_openai):
    server = fake_openai([
        completion({"content": None, "tool_calls": [{"id": "call_1", "type": "function", "function": {
            "name": "add_task", "arguments": json.dumps({"title": "From a local model", "priority": "P1"})}}]},
            "tool_calls"),
        completion({"content": "Added “From a local model”."}, "stop"),
    ])
    turn = chat_send(user=alice, message="add something important")

    assert Task.objects.get(title="From a local model").user == alice
    assert turn.reply == "Added “From a local model”."
    path, headers, request = server.requests[0]
    assert path == "/v1/chat/completions"
    assert {key.lower(): value for key, value in headers.items()}["authorization"] == "Bearer test-key"
    assert request["model"] == "local-model"
    assert {tool["function"]["name"] for tool in request["tools"]} >= {"add_task", "list_tasks", "complete_task"}
    # The tool's result went back to the model.
    assert any(m.get("role") == "tool" and "From a local model" in json.dumps(m)
               for m in server.requests[1][2]["messages"])
    stored = Message.objects.get(conversation_id=turn.conversation_id, role="assistant")
    assert (stored.engine, stored.model) == ("agent", "local-model")


def test_a_model_failure_is_answered_and_stored_not_raised(alice, fake_openai):
    fake_openai([(400, {"error": {"message": "model 'local-model' not found", "type": "invalid_request_error"}})])
    turn = chat_send(user=alice, message="hello")
    assert turn.reply.startswith("Sorry, the language model could not answer (BadRequestError")
    assert Message.objects.filter(conversation_id=turn.conversation_id).count() == 2


def test_without_a_key_the_offline_assistant_answers(alice):
    turn = chat_send(user=alice, message="add 'Offline task'")
    assert turn.engine == "offline"
    assert Message.objects.get(conversation_id=turn.conversation_id, role="assistant").engine == "offline"
