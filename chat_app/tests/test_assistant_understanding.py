"""What the offline parser makes of a message (no database), and what it says when it cannot."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from chat_app.offline.intents import Ref, parse

from .conftest import say

NOW = datetime(2026, 11, 25, 14, 30, tzinfo=ZoneInfo("UTC"))  # a Wednesday


@pytest.mark.parametrize("message, kind, ref", [
    ("Mark 'Weekly team standup' as complete", "complete", Ref("title", "Weekly team standup")),
    ("mark it as done", "complete", Ref("last")),
    ("task 12 is done", "complete", Ref("id", 12)),
    ("finish #7", "complete", Ref("id", 7)),
    ("reopen 'Buy milk'", "reopen", Ref("title", "Buy milk")),
    ("mark buy milk as not done", "reopen", Ref("title", "buy milk")),
    ("delete the task called 'Buy milk'", "delete", Ref("title", "Buy milk")),
    ("remove it", "delete", Ref("last")),
    ("rename 'Buy milk' to 'Buy oat milk'", "change", Ref("title", "Buy milk")),
    ("change the priority of 'Buy milk' to P2", "change", Ref("title", "Buy milk")),
    ("make it urgent", "change", Ref("last")),
    ("move 'Buy milk' to next Friday", "change", Ref("title", "Buy milk")),
    ("tag it with errands", "change", Ref("last")),
    ("remove tag home from 'Buy milk'", "change", Ref("title", "Buy milk")),
    ("show task #12", "show", Ref("id", 12)),
    ("tell me about buy milk", "show", Ref("title", "buy milk")),
])
def test_actions_on_a_named_task(message, kind, ref):
    intent = parse(message, NOW)
    assert (intent.kind, intent.ref) == (kind, ref)


@pytest.mark.parametrize("message, fields", [
    ("rename 'Buy milk' to 'Buy oat milk'", {"title": "Buy oat milk"}),
    ("make it urgent", {"priority": "P1"}),
    ("set buy milk to P4", {"priority": "P4"}),
    ("tag it with errands and home", {"tags_add": ["errands", "home"]}),
    ("remove tag home from it", {"tags_remove": ["home"]}),
    ("remove all tags from it", {"tags": []}),
    ("remove the due date from it", {"due_at": None}),
    ("move it to tomorrow 5pm", {"due_at": datetime(2026, 11, 26, 17, 0, tzinfo=ZoneInfo("UTC"))}),
])
def test_changes(message, fields):
    assert parse(message, NOW).fields == fields


@pytest.mark.parametrize("message, kind", [
    ("show more", "more"), ("list my tags", "tags"), ("what tags do I have?", "tags"),
    ("show my notifications", "notifications"), ("help", "help"), ("hello", "help"),
    ("what's overdue?", "find"), ("how many tasks do I have?", "find"), ("search invoices", "find"),
    ("add buy milk", "add"), ("remind me to call mom tomorrow", "add"),
])
def test_other_intents(message, kind):
    assert parse(message, NOW).kind == kind


@pytest.mark.parametrize("message", ["buy milk", "what is the meaning of life", "asdf qwerty", "move it to someday"])
def test_what_is_not_understood_is_not_guessed(message):
    assert parse(message, NOW).kind == "unknown"


@pytest.mark.django_db
@pytest.mark.parametrize("message, quoted", [
    ("what is the meaning of life", "“what is the meaning of life”"),
    ("move it to someday", "“someday” as a date or time"),
    ("make it purple", "“make it purple”"),
])
def test_the_not_understood_answer_says_what_and_how_to_ask(alice, message, quoted):
    turn = say(alice, message)
    assert turn.tool_calls == []
    assert turn.reply.startswith(f"Sorry, I didn't understand {quoted}.")
    assert "I can add tasks" in turn.reply


@pytest.mark.django_db
def test_help_lists_what_it_can_do(alice):
    assert "I can add tasks" in say(alice, "help").reply
