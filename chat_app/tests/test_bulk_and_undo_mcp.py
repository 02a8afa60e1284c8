"""The MCP tools undo, bulk_complete, bulk_delete and bulk_update, through a real MCP client session:
filters (never empty), dry runs, previews above a few tasks, confirmations that carry out exactly the
previewed set, per-item results, bounds, and isolation between users."""

from __future__ import annotations

import pytest

from chat_app.toolbox import result_as_dict
from tasks_app import services
from tasks_app.models import Task

from .conftest import call_tool, tool_json

pytestmark = pytest.mark.django_db


def errands(user, count: int, **fields) -> list[Task]:
    return [services.task_create(user=user, title=f"Errand {n}", tags=["errands"], **fields)
            for n in range(1, count + 1)]


def error_of(user, name, arguments) -> str:
    result = call_tool(user, name, arguments)
    assert result.is_error, result
    return result_as_dict(name, result)["error"]


@pytest.mark.parametrize("tool", ["bulk_complete", "bulk_delete"])
@pytest.mark.parametrize("arguments", [{}, {"filter": {}}, {"filter": {"tags": None}}])
def test_an_empty_filter_is_refused(alice, tool, arguments):
    errands(alice, 2)
    assert "give a filter" in error_of(alice, tool, arguments)
    assert Task.objects.filter(user=alice, completed=False).count() == 2


def test_a_few_tasks_are_completed_at_once_with_a_result_per_task(alice):
    first, second = errands(alice, 2)
    services.task_complete(task=second)
    result = tool_json(alice, "bulk_complete", {"filter": {"tags": ["errands"]}})
    assert result["status"] == "done"
    assert [(item["id"], item["status"], item["reason"]) for item in result["items"]] == [
        (first.pk, "done", ""), (second.pk, "skipped", "already done")]


def test_dry_run_changes_nothing_and_lists_the_tasks(alice):
    tasks = errands(alice, 2)
    result = tool_json(alice, "bulk_delete", {"filter": {"tags": ["errands"]}, "dry_run": True})
    assert result["status"] == "dry_run" and result["confirmation"]
    assert [item["id"] for item in result["items"]] == [task.pk for task in tasks]
    assert Task.objects.filter(user=alice).count() == 2


def test_more_than_three_tasks_need_the_confirmation_which_acts_on_exactly_the_previewed_set(alice):
    tasks = errands(alice, 4)
    preview = tool_json(alice, "bulk_complete", {"filter": {"tags": ["errands"]}})
    assert preview["status"] == "needs_confirmation" and preview["matched"] == 4
    assert not Task.objects.filter(user=alice, completed=True).exists()

    # After the preview: a fifth errand appears (not previewed), one previewed errand is renamed.
    late = services.task_create(user=alice, title="Errand 5", tags=["errands"])
    services.task_update(task=tasks[0], title="Errand 1, renamed")

    done = tool_json(alice, "bulk_complete", {"confirm": preview["confirmation"]})
    assert {item["id"]: item["status"] for item in done["items"]} == {
        tasks[0].pk: "skipped", tasks[1].pk: "done", tasks[2].pk: "done", tasks[3].pk: "done"}
    assert done["items"][0]["reason"] == "changed since the preview"
    assert not Task.objects.get(pk=late.pk).completed, "not a re-query"


def test_bulk_update_changes_the_same_fields_and_its_confirmation_carries_them(alice):
    tasks = errands(alice, 4)
    preview = tool_json(alice, "bulk_update", {"filter": {"tags": ["errands"]}, "priority": "P1",
                                               "clear": ["due_at"]})
    assert preview["status"] == "needs_confirmation"
    tool_json(alice, "bulk_update", {"confirm": preview["confirmation"]})
    assert set(Task.objects.filter(pk__in=[t.pk for t in tasks]).values_list("priority", flat=True)) == {"P1"}


def test_bulk_delete_by_priority_and_undo_brings_every_task_back_at_once(alice):
    low = [services.task_create(user=alice, title=f"Low {n}", priority="P4") for n in range(5)]
    keep = services.task_create(user=alice, title="Important", priority="P1")
    preview = tool_json(alice, "bulk_delete", {"filter": {"priorities": ["P4"]}})
    tool_json(alice, "bulk_delete", {"confirm": preview["confirmation"]})
    assert list(Task.objects.filter(user=alice).values_list("pk", flat=True)) == [keep.pk]

    undone = tool_json(alice, "undo")["undone"]
    assert sorted(item["task_id"] for item in undone) == sorted(task.pk for task in low)
    assert {item["now"] for item in undone} == {"restored"}
    assert Task.objects.filter(user=alice).count() == 6


def test_too_many_matches_are_refused_with_a_hint(alice, settings):
    settings.BULK_MAX_TASKS = 3
    errands(alice, 4)
    assert "4 tasks match; at most 3 at a time: narrow the filter" in error_of(
        alice, "bulk_complete", {"filter": {"tags": ["errands"]}})


def test_a_confirmation_is_only_good_for_its_user_and_action(alice, bob):
    errands(alice, 4)
    preview = tool_json(alice, "bulk_delete", {"filter": {"tags": ["errands"]}})
    assert "not for bulk_delete by this user" in error_of(bob, "bulk_delete", {"confirm": preview["confirmation"]})
    assert "not for bulk_complete" in error_of(alice, "bulk_complete", {"confirm": preview["confirmation"]})
    assert "not a valid confirmation" in error_of(alice, "bulk_delete", {"confirm": preview["confirmation"][:-3] + "xyz"})
    assert Task.objects.filter(user=alice).count() == 4


def test_a_bulk_filter_never_touches_another_users_tasks(alice, bob):
    errands(alice, 2)
    bobs = errands(bob, 2)
    tool_json(alice, "bulk_complete", {"filter": {"tags": ["errands"]}})
    assert not Task.objects.filter(user=bob, completed=True).exists()
    result = tool_json(alice, "bulk_delete", {"filter": {"task_ids": [task.pk for task in bobs]}})
    assert result["matched"] == 0 and Task.objects.filter(user=bob).count() == 2


def test_undo_through_mcp_acts_as_the_sessions_user(alice, bob):
    services.task_create(user=alice, title="Alice's")
    assert "nothing to undo" in error_of(bob, "undo", {})
    assert tool_json(alice, "undo")["undone"][0]["title"] == "Alice's"
    assert not Task.objects.filter(user=alice).exists()
