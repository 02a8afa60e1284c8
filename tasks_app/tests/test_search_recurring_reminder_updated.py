"""GET /api/tasks: `recurring`, `has_reminder`, and the most recently changed first (sort=-updated_at)."""

import base64
import json
from datetime import datetime, timezone

import pytest

from tasks_app.models import Task
from tasks_app.services import task_complete, task_create, task_update

pytestmark = pytest.mark.django_db

DUE = datetime(2027, 3, 1, 9, 0, tzinfo=timezone.utc)


def titles(client, **params):
    response = client.get("/api/tasks", params)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["count"] == len(body["items"])
    return [item["title"] for item in body["items"]]


@pytest.fixture
def tasks(alice, bob):
    task_create(user=alice, title="Standup", recurrence="weekdays", due_at=DUE, reminder_minutes_before=10)
    task_create(user=alice, title="Water plants", recurrence="weekly", due_at=DUE)
    task_create(user=alice, title="Dentist", due_at=DUE, reminder_minutes_before=60)
    task_create(user=alice, title="Buy milk")
    task_complete(task=task_create(user=alice, title="Old review", recurrence="monthly", due_at=DUE,
                                   reminder_minutes_before=0))
    task_create(user=bob, title="Bob's gym", recurrence="daily", due_at=DUE, reminder_minutes_before=5)


def test_recurring_filter(alice_api, tasks):
    assert titles(alice_api, recurring="true") == ["Old review", "Water plants", "Standup"]
    assert titles(alice_api, recurring="false") == ["Buy milk", "Dentist"]


def test_has_reminder_filter(alice_api, tasks):
    assert titles(alice_api, has_reminder="true") == ["Old review", "Dentist", "Standup"]
    assert titles(alice_api, has_reminder="false") == ["Buy milk", "Water plants"]


def test_the_new_filters_combine_with_each_other_with_q_and_completion(alice_api, tasks):
    assert titles(alice_api, recurring="true", has_reminder="true", completed="false") == ["Standup"]
    assert titles(alice_api, recurring="false", has_reminder="true", q="den") == ["Dentist"]


def test_most_recently_changed_first(alice, alice_api, tasks):
    assert titles(alice_api, sort="-updated_at", completed="false") == [
        "Buy milk", "Dentist", "Water plants", "Standup"]
    task_update(task=Task.objects.get(title="Water plants"), priority="P1")
    task_update(task=Task.objects.get(title="Standup"), tags=["work"])
    assert titles(alice_api, sort="-updated_at", completed="false") == [
        "Standup", "Water plants", "Buy milk", "Dentist"]
    assert titles(alice_api, sort="updated_at", completed="false") == [
        "Dentist", "Buy milk", "Water plants", "Standup"]


def test_updated_at_ties_are_broken_by_id(alice, alice_api, tasks):
    Task.objects.filter(user=alice).update(updated_at=DUE)
    assert titles(alice_api, sort="-updated_at") == ["Old review", "Buy milk", "Dentist", "Water plants", "Standup"]
    assert titles(alice_api, sort="updated_at") == ["Standup", "Water plants", "Dentist", "Buy milk", "Old review"]


@pytest.mark.parametrize("sort", ["-updated_at", "updated_at"])
def test_pages_by_updated_at_follow_the_cursor(alice, alice_api, sort):
    made = [task_create(user=alice, title=f"t{n}") for n in range(7)]
    Task.objects.filter(pk__in=[t.pk for t in made[2:5]]).update(updated_at=DUE)  # ties across pages
    whole = [item["id"] for item in alice_api.get("/api/tasks", {"sort": sort, "limit": 200}).json()["items"]]
    seen, cursor = [], None
    while True:
        body = alice_api.get("/api/tasks", {"sort": sort, "limit": 2, **({"cursor": cursor} if cursor else {})}).json()
        assert body["count"] == 7
        seen += [item["id"] for item in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == whole and len(set(seen)) == 7


def cursor_of(payload) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


@pytest.mark.parametrize("params, field", [
    ({"recurring": "sometimes"}, "recurring"),
    ({"has_reminder": "2"}, "has_reminder"),
    ({"sort": "updated"}, "sort"),
    ({"sort": "-updated_at", "cursor": cursor_of(["-updated_at", "yesterday", 5])}, "cursor"),
    ({"sort": "-updated_at", "cursor": cursor_of(["-updated_at", "2027-01-01T00:00:00", 5])}, "cursor"),
    ({"sort": "updated_at", "cursor": cursor_of(["updated_at", None, 5])}, "cursor"),
    ({"sort": "updated_at", "cursor": cursor_of(["-updated_at", "2027-01-01T00:00:00+00:00", 5])}, "cursor"),
])
def test_bad_values_are_422_naming_the_parameter(alice_api, params, field):
    response = alice_api.get("/api/tasks", params)
    assert response.status_code == 422, response.content
    assert field in {error["field"].split(".")[0] for error in response.json()["errors"] if error["field"]}


def test_a_task_changed_while_paging_moves_ahead_of_the_cursor_and_the_rest_still_follow(alice, alice_api):
    made = [task_create(user=alice, title=f"t{n}") for n in range(4)]
    first = alice_api.get("/api/tasks", {"sort": "-updated_at", "limit": 2}).json()
    assert [item["title"] for item in first["items"]] == ["t3", "t2"]
    task_update(task=made[0], title="t0 changed")  # jumps to the front, before the cursor
    second = alice_api.get("/api/tasks", {"sort": "-updated_at", "limit": 2, "cursor": first["next_cursor"]}).json()
    assert [item["title"] for item in second["items"]] == ["t1"] and second["next_cursor"] is None
