"""The chat page at / (server side): conversation, message box, task list, partials, no-JS fallback, admin."""

import re

import pytest
from django.test import Client

from chat_app.services import chat_send
from tasks_app import services
from tasks_app.models import Task

pytestmark = pytest.mark.django_db


@pytest.fixture
def browser(alice) -> Client:
    client = Client()
    client.force_login(alice)
    return client


def test_the_page_needs_a_login():
    response = Client().get("/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_an_empty_page_shows_examples_a_labelled_message_box_and_the_open_tasks(browser, alice):
    services.task_create(user=alice, title="Water plants", priority="P2", tags=["home"])
    services.task_complete(task=services.task_create(user=alice, title="Done already"))
    html = browser.get("/").content.decode()
    assert 'name="viewport"' in html and '<html lang="en">' in html
    assert '<label for="chat-input">' in html and 'id="chat-input"' in html
    assert 'role="log"' in html and 'role="status"' in html
    assert "Weekly team standup" in html  # the examples
    assert "Open tasks <small id=\"task-count\">(1)</small>" in html
    assert "Water plants" in html and "#home" in html and "Done already" not in html
    assert "chat_app/chat.js" in html and "chat_app/chat.css" in html


def test_the_latest_conversation_is_shown_with_what_the_assistant_did(browser, alice):
    turn = chat_send(user=alice, message="add 'Pay rent' every month #home")
    html = browser.get("/").content.decode()
    assert "add &#x27;Pay rent&#x27; every month #home" in html
    assert "What I did" in html
    assert re.search(r"<code>add_task</code> <span class=\"summary\">added #\d+ “Pay rent”</span>", html)
    assert f'data-conversation-id="{turn.conversation_id}"' in html
    assert 'class="repeat"' in html


def test_partials_render_the_conversation_and_the_task_list(browser, alice):
    turn = chat_send(user=alice, message="add 'Pay rent'")
    messages = browser.get(f"/?c={turn.conversation_id}&partial=messages").content.decode()
    assert "<html" not in messages and "Pay rent" in messages and 'data-role="assistant"' in messages
    tasks = browser.get("/?partial=tasks").content.decode()
    assert "<html" not in tasks and 'data-task-id="' in tasks
    assert browser.get("/?partial=nothing").status_code == 404


def test_another_users_conversation_is_404(browser, bob):
    turn = chat_send(user=bob, message="hello")
    assert browser.get(f"/?c={turn.conversation_id}").status_code == 404
    assert browser.get("/?c=not-a-number").status_code == 404


def test_without_javascript_the_form_posts_to_the_page(browser, alice):
    response = browser.post("/", {"message": "add 'No script needed' tomorrow"})
    assert response.status_code == 302 and response["Location"].startswith("/?c=")
    assert Task.objects.get(user=alice).title == "No script needed"
    page = browser.get(response["Location"]).content.decode()
    assert "Added “No script needed”" in page
    assert browser.post("/", {"message": "  "}).status_code == 422


def test_new_starts_an_empty_conversation(browser, alice):
    chat_send(user=alice, message="hello")
    html = browser.get("/?new").content.decode()
    assert "New conversation</h1>" in html and 'data-conversation-id=""' in html


def test_conversations_and_messages_are_in_the_admin(alice, django_user_model):
    turn = chat_send(user=alice, message="add 'Pay rent'")
    admin = Client()
    admin.force_login(django_user_model.objects.create_superuser("root", password="root-Password-1"))
    listing = admin.get("/admin/chat_app/conversation/").content.decode()
    assert "add &#x27;Pay rent&#x27;" in listing and "alice" in listing
    detail = admin.get(f"/admin/chat_app/conversation/{turn.conversation_id}/change/").content.decode()
    assert "add_task" in detail
    assert admin.get("/admin/chat_app/message/?role__exact=assistant").status_code == 200
