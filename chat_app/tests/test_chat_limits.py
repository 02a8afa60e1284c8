"""Limits on the chat: messages per user per minute, conversations and messages per conversation,
the daily budget of language-model messages, the model's request timeout and turns per message."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler

import pytest
from agents.testing import ScriptedModel, assistant_message, function_call
from django.test import Client

from chat_app.models import Conversation, Message
from chat_app.services import chat_send

from .test_agent import FakeOpenAI, completion, fake_openai  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db

WINDOW = 2  # seconds


def post(client, body):
    return client.post("/api/chat", json.dumps(body), content_type="application/json")


def test_chat_messages_per_user_are_rate_limited(alice_api, bob_api, settings):
    settings.THROTTLE_CHAT_PER_USER = (2, WINDOW)
    for _ in range(2):
        assert post(alice_api, {"message": "list my tasks"}).status_code == 200
    response = post(alice_api, {"message": "list my tasks"})
    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= WINDOW
    assert response.json()["detail"].startswith("rate limit: at most 2 chat messages per 2 seconds; try again in")
    assert post(bob_api, {"message": "list my tasks"}).status_code == 200  # per user

    time.sleep(WINDOW + 0.5)
    assert post(alice_api, {"message": "list my tasks"}).status_code == 200


def test_the_chat_page_shares_the_rate_limit(alice, alice_api, settings):
    settings.THROTTLE_CHAT_PER_USER = (1, WINDOW)
    assert post(alice_api, {"message": "list my tasks"}).status_code == 200
    page = Client()
    page.force_login(alice)
    response = page.post("/", {"message": "list my tasks"})
    assert response.status_code == 429 and response["Retry-After"]
    assert "at most 1 chat messages" in response.content.decode()


def test_conversations_per_user_stop_at_the_quota(alice_api, alice, settings):
    settings.QUOTA_CONVERSATIONS_PER_USER = 2
    for _ in range(2):
        assert post(alice_api, {"message": "list my tasks"}).status_code == 200
    response = post(alice_api, {"message": "list my tasks"})
    assert response.status_code == 403
    assert response.json()["detail"] == "quota exceeded: at most 2 conversations per user"
    assert Conversation.objects.filter(user=alice).count() == 2
    # Existing conversations go on.
    conversation_id = Conversation.objects.filter(user=alice).first().pk
    assert post(alice_api, {"message": "list my tasks", "conversation_id": conversation_id}).status_code == 200


def test_messages_per_conversation_stop_at_the_quota(alice_api, settings):
    settings.QUOTA_MESSAGES_PER_CONVERSATION = 4
    conversation_id = post(alice_api, {"message": "list my tasks"}).json()["conversation_id"]
    assert post(alice_api, {"message": "list my tasks", "conversation_id": conversation_id}).status_code == 200
    response = post(alice_api, {"message": "list my tasks", "conversation_id": conversation_id})
    assert response.status_code == 403
    assert response.json()["detail"] == ("quota exceeded: at most 4 messages per conversation; "
                                         "start a new conversation")
    assert Message.objects.filter(conversation_id=conversation_id).count() == 4


def test_the_daily_language_model_budget_is_per_user_and_spares_the_offline_assistant(
        alice_api, bob_api, settings, fake_openai):  # noqa: F811
    settings.LLM_DAILY_MESSAGES_PER_USER = 2
    # The offline assistant (no key) is not counted.
    for _ in range(3):
        assert post(alice_api, {"message": "list my tasks"}).status_code == 200

    server = fake_openai([completion({"content": f"Answer {n}"}, "stop") for n in range(3)])
    for n in range(2):
        response = post(alice_api, {"message": "hello"})
        assert response.status_code == 200 and response.json()["reply"] == f"Answer {n}"
    response = post(alice_api, {"message": "hello"})
    assert response.status_code == 429
    assert response.json()["detail"].startswith("daily budget used up: at most 2 messages to the language model")
    assert 1 <= int(response["Retry-After"]) <= 86400
    assert len(server.requests) == 2  # the model was not asked a third time
    # Bob has his own budget.
    assert post(bob_api, {"message": "hello"}).json()["reply"] == "Answer 2"


class _SlowHandler(BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        time.sleep(5)
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


def test_a_model_that_does_not_answer_in_time_is_given_up_on(alice, settings):
    server = FakeOpenAI([])
    server.RequestHandlerClass = _SlowHandler
    threading.Thread(target=server.serve_forever, daemon=True).start()
    settings.OPENAI_API_KEY, settings.OPENAI_BASE_URL, settings.OPENAI_MODEL = "test-key", server.base_url, "m"
    settings.OPENAI_TIMEOUT_SECONDS = 1
    try:
        started = time.monotonic()
        turn = chat_send(user=alice, message="hello")
        elapsed = time.monotonic() - started
    finally:
        server.shutdown()
        server.server_close()
    assert turn.reply.startswith("Sorry, the language model could not answer (APITimeoutError")
    # Three tries (the client's retries) of one second each, not five seconds each.
    assert elapsed < 12, elapsed


def test_a_message_takes_at_most_the_configured_model_turns(alice, settings):
    settings.LLM_MAX_TURNS = 2
    model = ScriptedModel([
        [function_call("list_tasks", {}, call_id=f"c{n}")] for n in range(3)
    ] + [[assistant_message("done")]])
    turn = chat_send(user=alice, message="keep listing", model=model)
    assert turn.reply.startswith("Sorry, the language model could not answer (MaxTurnsExceeded")
    assert len(turn.tool_calls) == 2
