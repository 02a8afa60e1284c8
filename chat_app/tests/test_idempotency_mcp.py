"""idempotency_key on the MCP write tools (add_task, quick_add, update_task, complete_task, ...): the same rules as the REST header, through
real MCP sessions; concurrent duplicates on their own threads and connections create one task."""

import threading

import pytest
from django.contrib.auth import get_user_model
from django.db import connections, transaction

from tasks_app import services
from tasks_app.models import IdempotencyKey, OutboxEvent, Task
from tasks_app.tests.test_idempotency import wait_until_backends_wait_for_locks

from .conftest import call_tool, tool_json

pytestmark = pytest.mark.django_db

TOOLS = [("add_task", {"title": "Renew passport", "priority": "P1"}),
         ("quick_add", {"text": "Renew passport next Friday p1 #admin"})]


def created_id(tool, result):
    return result["task"]["id"] if tool == "quick_add" else result["id"]


@pytest.mark.parametrize("tool, arguments", TOOLS)
def test_a_repeated_call_with_the_same_key_returns_the_first_result(alice, tool, arguments):
    first = tool_json(alice, tool, {**arguments, "idempotency_key": "call-1"})
    again = tool_json(alice, tool, {**arguments, "idempotency_key": "call-1"})
    assert again == first
    assert Task.objects.count() == 1


@pytest.mark.parametrize("tool, arguments", TOOLS)
def test_the_same_key_with_other_arguments_is_a_tool_error(alice, tool, arguments):
    tool_json(alice, tool, {**arguments, "idempotency_key": "call-2"})
    changed = {name: value + " too" if isinstance(value, str) and name in ("title", "text") else value
               for name, value in arguments.items()}
    result = call_tool(alice, tool, {**changed, "idempotency_key": "call-2"})
    assert result.is_error
    assert "Idempotency-Key 'call-2' was already used" in result.content[0].text
    assert Task.objects.count() == 1


def test_an_mcp_key_is_not_a_rest_key_for_another_request(alice, alice_api):
    tool_json(alice, "add_task", {"title": "Via MCP", "idempotency_key": "both-doors"})
    response = alice_api.post("/api/tasks", {"title": "Via MCP"}, content_type="application/json",
                              headers={"Idempotency-Key": "both-doors"})
    assert response.status_code == 422 and "MCP add_task" in response.json()["detail"]


def test_keys_are_per_user(alice, bob):
    mine = tool_json(alice, "add_task", {"title": "Mine", "idempotency_key": "same"})
    theirs = tool_json(bob, "add_task", {"title": "Theirs", "idempotency_key": "same"})
    assert theirs["id"] != mine["id"] and theirs["title"] == "Theirs"


@pytest.mark.parametrize("key", ["", "with space", "x" * 256, "émoji"])
def test_a_malformed_key_is_refused(alice, key):
    result = call_tool(alice, "add_task", {"title": "x", "idempotency_key": key})
    assert result.is_error and ("idempotency_key" in result.content[0].text)
    assert not Task.objects.exists()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("tool, arguments", TOOLS)
def test_concurrent_calls_with_one_key_create_exactly_one_task(alice, tool, arguments):
    results = [None] * 8

    def call(index):
        try:
            results[index] = tool_json(alice, tool, {**arguments, "idempotency_key": "eight-at-once"})
        except BaseException as exc:  # noqa: BLE001 - reported by the assertions below
            results[index] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=call, args=(index,)) for index in range(8)]
    # Every call's key row waits (its foreign key) for the user row locked here, so all eight are
    # inside PostgreSQL before any of them can claim the key.
    with transaction.atomic():
        get_user_model().objects.select_for_update().get(pk=alice.pk)
        for thread in threads:
            thread.start()
        wait_until_backends_wait_for_locks(8)
    for thread in threads:
        thread.join(timeout=60)

    failures = [result for result in results if not isinstance(result, dict)]
    assert not failures, failures
    assert Task.objects.filter(user=alice).count() == 1
    assert {created_id(tool, result) for result in results} == {Task.objects.get(user=alice).pk}
    assert IdempotencyKey.objects.filter(user=alice).count() == 1


# --------------------------------------------------------------------------- the other write tools


def test_complete_task_twice_with_one_key_records_one_event(alice):
    task = services.task_create(user=alice, title="File taxes")
    events = OutboxEvent.objects.count()
    first = tool_json(alice, "complete_task", {"task_id": task.pk, "idempotency_key": "done-1"})
    Task.objects.filter(pk=task.pk).update(completed=False, completed_at=None)  # reopened elsewhere since
    again = tool_json(alice, "complete_task", {"task_id": task.pk, "idempotency_key": "done-1"})
    assert again == first
    assert not Task.objects.get(pk=task.pk).completed, "the replay did not complete the task again"
    assert OutboxEvent.objects.count() == events + 1


def test_delete_task_retried_with_its_key_returns_the_first_result_not_an_error(alice):
    task = services.task_create(user=alice, title="Old")
    first = tool_json(alice, "delete_task", {"task_id": task.pk, "idempotency_key": "gone-1"})
    assert tool_json(alice, "delete_task", {"task_id": task.pk, "idempotency_key": "gone-1"}) == first
    assert call_tool(alice, "delete_task", {"task_id": task.pk}).is_error, "without the key: not found"


def test_update_task_with_a_reused_key_and_other_arguments_is_a_tool_error(alice):
    task = services.task_create(user=alice, title="Draft")
    tool_json(alice, "update_task", {"task_id": task.pk, "title": "Final", "idempotency_key": "upd-1"})
    result = call_tool(alice, "update_task", {"task_id": task.pk, "title": "Other", "idempotency_key": "upd-1"})
    assert result.is_error and "Idempotency-Key 'upd-1' was already used" in result.content[0].text
    assert Task.objects.get(pk=task.pk).title == "Final"


def test_a_failed_tool_call_stores_no_key(alice):
    result = call_tool(alice, "complete_task", {"task_id": 999999, "idempotency_key": "missing-1"})
    assert result.is_error
    assert not IdempotencyKey.objects.filter(key="missing-1").exists()
