"""`manage.py chat --user USER [--json] MESSAGE...` in the terminal."""

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from tasks_app.models import Task

pytestmark = pytest.mark.django_db


def chat(*args) -> str:
    out = StringIO()
    call_command("chat", *args, stdout=out)
    return out.getvalue()


def test_json_prints_the_api_response_object(alice):
    body = json.loads(chat("--user", "alice", "--json", "add 'Write the report' tomorrow 9am #work"))
    assert set(body) == {"conversation_id", "reply", "tool_calls"}
    assert body["tool_calls"][0]["name"] == "add_task"
    assert Task.objects.get(user=alice).title == "Write the report"


def test_words_are_joined_into_one_message_and_the_reply_lists_what_was_done(alice):
    out = chat("--user", "alice", "add", "buy", "milk", "#errands")
    assert out.startswith("Added “Buy milk”")
    assert "· add_task: added #" in out
    assert "(conversation " in out


def test_continue_picks_up_the_latest_conversation(alice):
    chat("--user", "alice", "add 'Book flights'")
    chat("--user", "alice", "--continue", "mark it as done")
    assert Task.objects.get(title="Book flights").completed


def test_unknown_user_and_foreign_conversation_are_errors(alice, bob):
    with pytest.raises(CommandError, match="no active user named 'nobody'"):
        chat("--user", "nobody", "hello")
    conversation = json.loads(chat("--user", "alice", "--json", "hello"))["conversation_id"]
    with pytest.raises(CommandError, match="has no conversation"):
        chat("--user", "bob", "--conversation", str(conversation), "hello")
