"""The offline assistant completes, reopens, deletes, renames and changes tasks named by title (fuzzy),
asks which one when two match, and remembers the last task mentioned ("mark it as done")."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tasks_app import services
from tasks_app.models import Task

pytestmark = pytest.mark.django_db


@pytest.fixture
def milk(alice):
    return services.task_create(user=alice, title="Buy milk", tags=["errands"])


def reload(task) -> Task:
    return Task.objects.get(pk=task.pk)


def names(turn) -> list[str]:
    return [call["name"] for call in turn.tool_calls]


def test_complete_by_title(alice_chat, milk):
    turn = alice_chat("Mark 'Buy milk' as complete")
    assert reload(milk).completed
    assert names(turn) == ["list_tasks", "complete_task"]
    assert turn.tool_calls[1]["arguments"] == {"task_id": milk.pk}
    assert turn.reply == "Marked “Buy milk” as done."


@pytest.mark.parametrize("message", ["complete buy milk", "I finished buy milk", "buy milk is done",
                                     "mark by milk done", "check off 'buy mlik'"])
def test_complete_phrasings_and_typos(alice_chat, milk, message):
    alice_chat(message)
    assert reload(milk).completed


def test_reopen(alice_chat, milk):
    services.task_complete(task=milk)
    turn = alice_chat("reopen buy milk")
    assert not reload(milk).completed
    assert turn.reply == "Reopened “Buy milk”."
    assert alice_chat("mark 'Buy milk' as not done").reply == "“Buy milk” is not done, so there is nothing to reopen."


def test_delete(alice_chat, milk):
    turn = alice_chat("delete the task called 'Buy milk'")
    assert not Task.objects.filter(pk=milk.pk).exists()
    assert turn.reply == "Deleted “Buy milk”."


def test_rename(alice_chat, milk):
    alice_chat("rename 'Buy milk' to 'Buy oat milk'")
    assert reload(milk).title == "Buy oat milk"


@pytest.mark.parametrize("message, priority", [
    ("change the priority of buy milk to P2", "P2"), ("make buy milk urgent", "P1"),
    ("set buy milk to low priority", "P4"),
])
def test_change_priority(alice_chat, milk, message, priority):
    alice_chat(message)
    assert reload(milk).priority == priority


def test_change_and_clear_the_due_date(alice_chat, milk):
    alice_chat("move buy milk to tomorrow 5pm")
    due = timezone.localtime(reload(milk).due_at)
    assert (due.date(), due.hour) == (timezone.localtime().date() + timedelta(days=1), 17)
    alice_chat("remove the due date from buy milk")
    assert reload(milk).due_at is None


def test_change_tags(alice_chat, milk):
    alice_chat("tag 'Buy milk' with home and shopping")
    assert sorted(t.name for t in reload(milk).tags.all()) == ["errands", "home", "shopping"]
    alice_chat("remove tag errands from buy milk")
    assert sorted(t.name for t in reload(milk).tags.all()) == ["home", "shopping"]
    alice_chat("change the tags of buy milk to weekend")
    assert [t.name for t in reload(milk).tags.all()] == ["weekend"]


def test_it_is_the_last_task_mentioned(alice_chat, alice):
    alice_chat("add 'Book flights' next Friday #travel")
    (flights,) = Task.objects.filter(user=alice)
    turn = alice_chat("make it urgent")
    assert reload(flights).priority == "P1"
    assert turn.tool_calls[0] == {"name": "get_task", "arguments": {"task_id": flights.pk},
                                  "result": turn.tool_calls[0]["result"]}
    alice_chat("mark it as done")
    assert reload(flights).completed


def test_it_without_a_task_in_the_conversation_is_a_question(alice_chat, milk):
    turn = alice_chat("mark it as done")
    assert turn.tool_calls == [] and not reload(milk).completed
    assert "not sure which task you mean" in turn.reply


def test_two_matches_ask_which_one_and_the_answer_completes_the_request(alice_chat, alice):
    dinner = services.task_create(user=alice, title="Call mom about dinner")
    trip = services.task_create(user=alice, title="Call mom about the trip")
    question = alice_chat("complete call mom")
    assert question.reply.startswith("More than one task matches. Which one do you mean?")
    assert "1. “Call mom about dinner”" in question.reply and "2. “Call mom about the trip”" in question.reply
    assert not Task.objects.filter(completed=True).exists()

    answer = alice_chat("2")
    assert names(answer) == ["get_task", "complete_task"]
    assert reload(trip).completed and not reload(dinner).completed


def test_an_exact_title_wins_over_a_longer_one(alice_chat, alice):
    exact = services.task_create(user=alice, title="Call mom")
    services.task_create(user=alice, title="Call mom about the trip")
    alice_chat("complete 'Call mom'")
    assert reload(exact).completed


def test_a_question_can_be_dropped(alice_chat, alice):
    services.task_create(user=alice, title="Call mom about dinner")
    services.task_create(user=alice, title="Call mom about the trip")
    alice_chat("delete call mom")
    assert alice_chat("never mind").reply == "OK, I've left it."
    assert Task.objects.count() == 2


def test_complete_prefers_the_open_occurrence_of_a_repeated_title(alice_chat, alice):
    done = services.task_complete(task=services.task_create(user=alice, title="Weekly team standup"))
    open_one = services.task_create(user=alice, title="Weekly team standup")
    alice_chat("Mark 'Weekly team standup' as complete")
    assert reload(open_one).completed and reload(done).completed


def test_a_missing_task_is_said_plainly(alice_chat, bob):
    services.task_create(user=bob, title="Bob's secret plan")
    turn = alice_chat("complete 'Bob's secret plan'")
    assert turn.reply == "I couldn't find a task matching “Bob's secret plan”."
    assert not Task.objects.filter(completed=True).exists()
