"""POST /api/chat and the conversation endpoints, end to end through HTTP and the real database."""

import json

import pytest
from django.test import Client

from chat_app.models import Conversation, Message
from tasks_app.models import Task

pytestmark = pytest.mark.django_db


def post(client, body, **kwargs):
    return client.post("/api/chat", json.dumps(body), content_type="application/json", **kwargs)


def test_chat_answers_with_the_conversation_the_reply_and_the_tool_calls(alice_api, alice):
    response = post(alice_api, {"message": "Add a P1 task called 'Weekly team standup' tagged 'work' and "
                                           "'meetings' that recurs weekly with a 30-minute reminder"})
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"conversation_id", "reply", "tool_calls"}
    assert body["reply"].startswith("Added “Weekly team standup”")
    (call,) = body["tool_calls"]
    assert set(call) == {"name", "arguments", "result"}
    assert call["name"] == "add_task" and call["arguments"]["priority"] == "P1"
    assert call["result"]["id"] == Task.objects.get(user=alice).pk
    assert Conversation.objects.get(pk=body["conversation_id"]).user == alice


def test_a_conversation_continues_across_requests(alice_api, alice):
    first = post(alice_api, {"message": "add 'Book flights' #travel"}).json()
    second = post(alice_api, {"message": "mark it as done", "conversation_id": first["conversation_id"]}).json()
    assert second["conversation_id"] == first["conversation_id"]
    assert Task.objects.get(user=alice, title="Book flights").completed
    assert Message.objects.filter(conversation_id=first["conversation_id"]).count() == 4


def test_another_users_conversation_is_404(alice_api, bob_api):
    conversation_id = post(alice_api, {"message": "add 'Secret'"}).json()["conversation_id"]
    response = post(bob_api, {"message": "mark it as done", "conversation_id": conversation_id})
    assert response.status_code == 404
    assert response.json()["detail"] == "conversation not found"
    assert bob_api.get(f"/api/chat/conversations/{conversation_id}").status_code == 404
    assert not Task.objects.filter(completed=True).exists()


@pytest.mark.parametrize("body", [{"message": ""}, {"message": "   "}, {}, {"message": "x" * 4001},
                                  {"message": "hi", "conversation_id": "abc"}])
def test_bad_input_is_422(alice_api, body):
    response = post(alice_api, body)
    assert response.status_code == 422
    assert not Conversation.objects.exists()


def test_chat_needs_a_login():
    assert post(Client(), {"message": "hi"}).status_code == 401


def test_the_page_can_chat_with_its_session_and_csrf_token(alice):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(alice)
    assert post(browser, {"message": "hi"}).status_code == 403  # no CSRF token
    page = browser.get("/")
    token = page.cookies["csrftoken"].value
    assert post(browser, {"message": "hi"}, headers={"X-CSRFToken": token}).status_code == 200


def test_conversations_are_listed_with_their_messages(alice_api, bob_api):
    conversation_id = post(alice_api, {"message": "add 'Pay rent' every month"}).json()["conversation_id"]
    post(bob_api, {"message": "hello"})
    listing = alice_api.get("/api/chat/conversations").json()
    assert [(c["id"], c["title"]) for c in listing] == [(conversation_id, "add 'Pay rent' every month")]
    detail = alice_api.get(f"/api/chat/conversations/{conversation_id}").json()
    assert [m["role"] for m in detail["messages"]] == ["user", "assistant"]
    assert detail["messages"][1]["tool_calls"][0]["name"] == "add_task"
