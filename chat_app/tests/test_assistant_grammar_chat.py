"""Corpus sentences end to end: through chat_send, the offline assistant and the MCP tools to the
database (and one through the scripted-model agent's quick_add), checking the tasks left behind.

Among them the three bugs issue 17 names: a quoted title followed by "tagged #a #b" kept the word
"tagged"; "… and tag it work" dropped the tag; "show my travel tasks" listed every task.
"""

from datetime import time, timedelta
from zoneinfo import ZoneInfo

import pytest
from agents.testing import ScriptedModel, assistant_message, function_call
from django.utils import timezone

from chat_app.services import chat_send
from tasks_app import services
from tasks_app.models import Task

pytestmark = pytest.mark.django_db


def tags_of(task: Task) -> list[str]:
    return sorted(tag.name for tag in task.tags.all())


def listed(turn) -> list[str]:
    (call,) = [call for call in turn.tool_calls if call["name"] == "list_tasks"]
    return [item["title"] for item in call["result"]["items"]]


@pytest.mark.parametrize("message", [
    "add 'Buy milk' tagged #a #b",
    "add Buy milk tagged #a #b",
    'add "Buy milk" tagged a and b',
    "add buy milk labelled #a, #b",
    "add buy milk with the tags a and b",
])
def test_a_title_next_to_tag_words_keeps_none_of_them(alice_chat, alice, message):
    alice_chat(message)
    (task,) = Task.objects.filter(user=alice)
    assert task.title == "Buy milk"
    assert tags_of(task) == ["a", "b"]


@pytest.mark.parametrize("message", ["add buy milk and tag it work", "add 'Buy milk' and tag it work",
                                     "add buy milk, label work"])
def test_and_tag_it_keeps_the_tag(alice_chat, alice, message):
    alice_chat(message)
    (task,) = Task.objects.filter(user=alice)
    assert (task.title, tags_of(task)) == ("Buy milk", ["work"])


def test_a_tag_named_as_an_adjective_lists_only_that_tags_tasks(alice_chat, alice, bob):
    services.task_create(user=alice, title="Book flights", tags=["travel"])
    services.task_create(user=alice, title="Renew passport", tags=["travel", "errands"])
    services.task_create(user=alice, title="Water plants", tags=["home"])
    services.task_create(user=bob, title="Bob's trip", tags=["travel"])
    turn = alice_chat("show my travel tasks")
    assert turn.tool_calls[0]["arguments"] == {"tags": ["travel"], "completed": False}
    assert sorted(listed(turn)) == ["Book flights", "Renew passport"]


def test_a_word_that_is_no_tag_of_the_user_is_search_text(alice_chat, alice, bob):
    services.task_create(user=alice, title="Buy groceries for the week")
    services.task_create(user=alice, title="Water plants")
    services.task_create(user=bob, title="Whatever", tags=["groceries"])  # bob's tag is not alice's
    turn = alice_chat("show my groceries tasks")
    assert turn.tool_calls[0]["arguments"] == {"q": "groceries", "completed": False}
    assert listed(turn) == ["Buy groceries for the week"]


def test_the_second_is_the_second_task_of_the_list_just_shown(alice_chat, alice):
    for title in ("Alpha", "Bravo", "Charlie"):
        services.task_create(user=alice, title=title)
    shown = listed(alice_chat("show my tasks alphabetically"))
    assert shown == ["Alpha", "Bravo", "Charlie"]
    alice_chat("mark the second one as done")
    assert list(Task.objects.filter(completed=True).values_list("title", flat=True)) == ["Bravo"]
    alice_chat("delete the last one")
    assert sorted(Task.objects.values_list("title", flat=True)) == ["Alpha", "Bravo"]


def test_it_after_a_list_of_several_is_asked_not_guessed(alice_chat, alice):
    services.task_create(user=alice, title="Alpha")
    services.task_create(user=alice, title="Bravo")
    alice_chat("show my tasks alphabetically")
    question = alice_chat("complete it")
    assert question.reply.startswith("More than one task matches. Which one do you mean?")
    assert not Task.objects.filter(completed=True).exists()
    alice_chat("2")
    assert list(Task.objects.filter(completed=True).values_list("title", flat=True)) == ["Bravo"]


def test_the_last_one_after_adding_is_the_task_just_added(alice_chat, alice):
    alice_chat("add 'Call the plumber' tomorrow")
    alice_chat("make the last one urgent")
    assert Task.objects.get(user=alice).priority == "P1"


def test_a_place_without_a_list_is_a_question(alice_chat, alice):
    services.task_create(user=alice, title="Alpha")
    turn = alice_chat("complete the second one")
    assert turn.tool_calls == [] and "haven't shown you a list" in turn.reply
    assert not Task.objects.filter(completed=True).exists()


def test_the_errands_ones_are_previewed_and_completed_after_yes(alice_chat, alice):
    errands = [services.task_create(user=alice, title=title, tags=["errands"]) for title in ("Post office", "Bank")]
    other = services.task_create(user=alice, title="Write report", tags=["work"])
    preview = alice_chat("complete the errands ones")
    assert not Task.objects.filter(completed=True).exists()
    assert "Post office" in preview.reply and "Bank" in preview.reply and "Write report" not in preview.reply
    alice_chat("yes")
    assert all(Task.objects.get(pk=task.pk).completed for task in errands)
    assert not Task.objects.get(pk=other.pk).completed


def test_words_next_to_a_quoted_title_that_it_cannot_read_are_named_and_nothing_is_added(alice_chat, alice):
    turn = alice_chat("add 'Buy milk' on zorkday")
    assert turn.tool_calls == [] and not Task.objects.exists()
    assert turn.reply.startswith("Sorry, I didn't understand “on zorkday”")


def test_a_misspelt_day_is_pointed_out_instead_of_becoming_part_of_the_title(alice_chat, alice):
    turn = alice_chat("add water plants every thrusday")
    assert not Task.objects.exists()
    assert "every thrusday" in turn.reply and "thursday" in turn.reply


def test_dates_are_read_in_the_users_zone(alice_chat, alice):
    services.profile_update(user=alice, timezone="America/New_York")
    alice_chat("add call mom tomorrow at 9am #family")
    (task,) = Task.objects.filter(user=alice)
    zone = ZoneInfo("America/New_York")
    local = timezone.localtime(task.due_at, zone)
    assert local.time() == time(9, 0)
    assert local.date() == timezone.localtime(timezone.now(), zone).date() + timedelta(days=1)
    assert (task.title, tags_of(task)) == ("Call mom", ["family"])


def test_the_agents_quick_add_reads_tags_with_the_same_grammar(alice):
    model = ScriptedModel([
        [function_call("quick_add", {"text": "'Buy milk' tagged #a #b"}, call_id="c1")],
        [assistant_message("Added “Buy milk”.")],
    ])
    turn = chat_send(user=alice, message="add 'Buy milk' tagged #a #b", model=model)
    (task,) = Task.objects.filter(user=alice)
    assert (task.title, tags_of(task)) == ("Buy milk", ["a", "b"])
    assert turn.tool_calls[0]["name"] == "quick_add"
    model.assert_complete()
