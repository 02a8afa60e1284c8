"""Undo and bulk previews through the chat: the offline assistant ("undo", "undo the last 3",
"complete everything tagged errands" → preview → yes) and the real Agent driven by the SDK's scripted
model (its undo and bulk_* calls reach the MCP tools as the conversation's user; a bulk call only
previews, and only the user's yes carries it out)."""

from __future__ import annotations

import json

import pytest
from agents.testing import ScriptedModel, assistant_message, function_call

from chat_app.bulk_actions import bulk_call
from tasks_app import services
from tasks_app.models import Task

from .test_agent import tool_outputs
from .test_agent_safety import Chat, never_called

pytestmark = pytest.mark.django_db


def errands(user, count: int) -> list[Task]:
    return [services.task_create(user=user, title=f"Errand {n}", tags=["errands"]) for n in range(1, count + 1)]


def test_add_complete_undo_leaves_the_task_open(alice):
    chat = Chat(alice)
    chat("add 'Water the plants'")
    chat("mark it as done")
    assert Task.objects.get(user=alice).completed

    turn = chat("undo")
    assert "“Water the plants”: open again" in turn.reply
    assert not Task.objects.get(user=alice).completed
    assert [call["name"] for call in turn.tool_calls] == ["undo"]


def test_undo_the_last_2_reverts_two_messages(alice):
    chat = Chat(alice)
    chat("add 'One'")
    chat("add 'Two'")
    chat("add 'Three'")
    assert "(2 changes)" in chat("undo the last 2").reply
    assert list(Task.objects.filter(user=alice).values_list("title", flat=True)) == ["One"]


def test_nothing_to_undo_is_said_plainly(alice):
    assert "nothing to undo" in Chat(alice)("undo that").reply.lower()


def test_undo_in_the_chat_never_reverts_another_users_change(alice, bob):
    services.task_create(user=bob, title="Bob's")
    assert "nothing to undo" in Chat(alice)("undo").reply.lower()
    assert Task.objects.filter(user=bob).exists()


def test_a_bulk_request_previews_and_acts_after_yes_and_undo_reverts_it_as_one(alice, bob):
    mine = errands(alice, 4)
    bobs = errands(bob, 2)
    chat = Chat(alice)
    turn = chat("complete everything tagged errands")
    assert "This would complete 4 tasks:" in turn.reply
    assert not Task.objects.filter(completed=True).exists()

    turn = chat("yes")
    assert turn.reply.startswith("Completed 4 tasks")
    assert set(Task.objects.filter(completed=True).values_list("pk", flat=True)) == {t.pk for t in mine}

    assert "(4 changes)" in chat("undo").reply
    assert not Task.objects.filter(completed=True).exists()
    assert Task.objects.filter(user=bob).count() == len(bobs)


def test_deleting_all_p4_tasks_previews_first(alice):
    for n in range(4):
        services.task_create(user=alice, title=f"Someday {n}", priority="P4")
    chat = Chat(alice)
    assert "This would delete 4 tasks:" in chat("delete all P4 tasks").reply
    assert Task.objects.filter(user=alice).count() == 4
    chat("yes")
    assert not Task.objects.filter(user=alice).exists()
    chat("undo")
    assert Task.objects.filter(user=alice).count() == 4


# --------------------------------------------------------------------------- the agent (scripted model)


def test_the_agents_undo_reaches_the_tool_as_the_conversations_user(alice, bob):
    task = services.task_create(user=alice, title="Pay rent")
    services.task_complete(task=task)
    services.task_create(user=bob, title="Bob's newest")
    model = ScriptedModel([[function_call("undo", {"count": 1}, call_id="u1")], [assistant_message("Undone.")]])
    turn = Chat(alice)("undo that", model=model)

    result = json.loads(tool_outputs(model.calls[1])[0])
    assert result["undone"][0]["task_id"] == task.pk and result["undone"][0]["now"] == "reopened"
    assert not Task.objects.get(pk=task.pk).completed
    assert Task.objects.filter(user=bob).exists()
    assert turn.tool_calls[0]["name"] == "undo"


def test_the_agents_bulk_call_only_previews_and_the_users_yes_carries_out_exactly_that_set(alice, bob):
    mine = errands(alice, 4)
    errands(bob, 2)
    chat = Chat(alice)
    model = ScriptedModel([
        [function_call("bulk_complete", {"filter": {"tags": ["errands"]}}, call_id="b1")],
        [assistant_message("Please confirm.")],
    ])
    turn = chat("complete all my errands", model=model)
    staged = json.loads(tool_outputs(model.calls[1])[0])
    assert staged["status"] == "awaiting the user's confirmation"
    assert [task["id"] for task in staged["tasks"]] == [task.pk for task in mine]
    assert "This would complete 4 tasks:" in turn.reply
    assert not Task.objects.filter(completed=True).exists()

    late = services.task_create(user=alice, title="Errand 5", tags=["errands"])
    turn = chat("yes", model=never_called())
    assert turn.reply.startswith("Completed 4 tasks")
    assert set(Task.objects.filter(completed=True).values_list("pk", flat=True)) == {t.pk for t in mine}
    assert not Task.objects.get(pk=late.pk).completed


def test_the_model_cannot_confirm_a_bulk_action_itself(alice):
    errands(alice, 4)
    # A valid confirmation, as a model might have come by it (another client's preview).
    token = bulk_call(user=alice, action="delete", filters={"tags": ["errands"]}, dry_run=True,
                      confirm=None)["confirmation"]
    model = ScriptedModel([
        [function_call("bulk_delete", {"confirm": token}, call_id="b1")],
        [assistant_message("Deleted.")],
    ])
    turn = Chat(alice)("delete my errands", model=model)
    assert "only the user confirms" in turn.tool_calls[0]["result"]["error"]
    assert Task.objects.filter(user=alice).count() == 4
