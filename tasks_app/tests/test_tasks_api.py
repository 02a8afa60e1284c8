"""Every task endpoint, end to end through HTTP and the real database."""

import json
from datetime import datetime, timedelta, timezone

import pytest

pytestmark = pytest.mark.django_db


def create(client, **fields):
    response = client.post("/api/tasks", json.dumps({"title": "A task", **fields}), content_type="application/json")
    assert response.status_code == 201, response.content
    return response.json()


def patch(client, task_id, body):
    return client.patch(f"/api/tasks/{task_id}", json.dumps(body), content_type="application/json")


def test_create_returns_the_full_task(alice_api):
    task = create(
        alice_api,
        title="  Weekly team standup  ",
        description="Round the table",
        priority="P1",
        tags=["work", "#meetings", "Work"],
        due_at="2027-01-15T09:00:00+01:00",
        recurrence="weekly",
        reminder_minutes_before=30,
    )
    assert task["title"] == "Weekly team standup"
    assert task["description"] == "Round the table"
    assert task["priority"] == "P1"
    assert task["tags"] == ["meetings", "work"]
    assert datetime.fromisoformat(task["due_at"]) == datetime(2027, 1, 15, 8, 0, tzinfo=timezone.utc)
    assert task["recurrence"] == "FREQ=WEEKLY"
    assert task["recurrence_from_completion"] is False and task["recurrence_text"] == "weekly"
    assert task["reminder_minutes_before"] == 30
    assert task["completed"] is False and task["completed_at"] is None and task["reminder_sent_at"] is None
    for stamp in ("created_at", "updated_at"):
        assert datetime.fromisoformat(task[stamp]).tzinfo is not None
    assert set(task) == {"id", "title", "description", "priority", "tags", "due_at", "completed", "completed_at",
                         "recurrence", "recurrence_from_completion", "recurrence_text", "reminder_minutes_before",
                         "reminder_sent_at", "created_at", "updated_at"}


def test_create_applies_defaults(alice_api):
    task = create(alice_api, title="Buy milk")
    assert (task["priority"], task["tags"], task["due_at"], task["recurrence"]) == ("P3", [], None, None)


def test_naive_due_date_is_read_in_the_server_zone_and_returned_with_offset(alice_api, settings):
    # A zone with an offset and a DST change (2027-03-14 in New York): read as UTC, or with one
    # fixed offset for both dates, one of these fails.
    settings.TIME_ZONE = "America/New_York"
    winter, summer = create(alice_api, due_at="2027-03-01T10:30:00"), create(alice_api, due_at="2027-03-15T10:30:00")
    assert datetime.fromisoformat(winter["due_at"]) == datetime(2027, 3, 1, 15, 30, tzinfo=timezone.utc)
    assert datetime.fromisoformat(summer["due_at"]) == datetime(2027, 3, 15, 14, 30, tzinfo=timezone.utc)


def test_naive_due_date_is_read_in_the_users_own_zone_not_the_servers(alice, alice_api, settings):
    from tasks_app.services.profiles import profile_ensure, profile_update

    settings.TIME_ZONE = "America/New_York"
    profile_ensure(user=alice)
    profile_update(user=alice, timezone="Europe/Berlin")  # summer time from 2027-03-28
    winter, summer = create(alice_api, due_at="2027-03-27T09:00:00"), create(alice_api, due_at="2027-03-29T09:00:00")
    assert datetime.fromisoformat(winter["due_at"]) == datetime(2027, 3, 27, 8, 0, tzinfo=timezone.utc)
    assert datetime.fromisoformat(summer["due_at"]) == datetime(2027, 3, 29, 7, 0, tzinfo=timezone.utc)


def test_rrule_is_stored_canonically(alice_api):
    task = create(alice_api, recurrence="RRULE:freq=weekly;byday=mo,we;interval=2")
    assert task["recurrence"] == "FREQ=WEEKLY;BYDAY=MO,WE;INTERVAL=2"


def test_get_returns_the_task(alice_api):
    task = create(alice_api, title="Read")
    response = alice_api.get(f"/api/tasks/{task['id']}")
    assert response.status_code == 200
    assert response.json() == task


def test_patch_changes_only_the_fields_sent(alice_api):
    task = create(alice_api, title="Draft", priority="P2", tags=["a"], due_at="2027-01-01T00:00:00Z")
    response = patch(alice_api, task["id"], {"title": "Final", "tags": ["b", "c"]})
    assert response.status_code == 200
    updated = response.json()
    assert (updated["title"], updated["priority"], updated["tags"]) == ("Final", "P2", ["b", "c"])
    assert updated["due_at"] == task["due_at"]


def test_patch_with_null_clears_optional_fields(alice_api):
    task = create(alice_api, due_at="2027-01-01T00:00:00Z", recurrence="daily", reminder_minutes_before=5,
                  tags=["x"])
    cleared = patch(alice_api, task["id"], {"due_at": None, "recurrence": None, "reminder_minutes_before": None,
                                            "tags": []}).json()
    assert (cleared["due_at"], cleared["recurrence"], cleared["reminder_minutes_before"], cleared["tags"]) == (
        None, None, None, [])


def test_changing_the_due_date_rearms_a_sent_reminder(alice_api, alice):
    from tasks_app.models import Task

    task = create(alice_api, due_at="2027-01-01T10:00:00Z", reminder_minutes_before=10)
    Task.objects.filter(pk=task["id"]).update(reminder_sent_at=datetime(2027, 1, 1, 9, 50, tzinfo=timezone.utc))
    assert patch(alice_api, task["id"], {"title": "Renamed"}).json()["reminder_sent_at"] is not None
    assert patch(alice_api, task["id"], {"due_at": "2027-01-02T10:00:00Z"}).json()["reminder_sent_at"] is None


def test_complete_and_reopen(alice_api):
    task = create(alice_api)
    done = alice_api.post(f"/api/tasks/{task['id']}/complete").json()
    assert done["completed"] is True
    completed_at = datetime.fromisoformat(done["completed_at"])
    assert abs(datetime.now(timezone.utc) - completed_at) < timedelta(minutes=1)

    again = alice_api.post(f"/api/tasks/{task['id']}/complete").json()
    assert again["completed_at"] == done["completed_at"], "completing twice keeps the first completion time"

    reopened = alice_api.post(f"/api/tasks/{task['id']}/reopen").json()
    assert (reopened["completed"], reopened["completed_at"]) == (False, None)


def test_delete_removes_the_task(alice_api):
    task = create(alice_api)
    assert alice_api.delete(f"/api/tasks/{task['id']}").status_code == 204
    assert alice_api.get(f"/api/tasks/{task['id']}").status_code == 404
    assert alice_api.delete(f"/api/tasks/{task['id']}").status_code == 404


def test_list_returns_newest_first_with_count(alice_api):
    ids = [create(alice_api, title=f"Task {n}")["id"] for n in range(3)]
    body = alice_api.get("/api/tasks").json()
    assert [item["id"] for item in body["items"]] == list(reversed(ids))
    assert body["count"] == 3
    assert body["next_cursor"] is None


def test_list_filters_by_completion(alice_api):
    open_task = create(alice_api, title="open")
    done_task = create(alice_api, title="done")
    alice_api.post(f"/api/tasks/{done_task['id']}/complete")
    assert [t["id"] for t in alice_api.get("/api/tasks?completed=false").json()["items"]] == [open_task["id"]]
    completed = alice_api.get("/api/tasks?completed=true").json()
    assert [t["id"] for t in completed["items"]] == [done_task["id"]]
    assert completed["count"] == 1


def test_list_honours_limit_and_counts_everything(alice_api):
    for n in range(5):
        create(alice_api, title=f"Task {n}")
    body = alice_api.get("/api/tasks?limit=2").json()
    assert len(body["items"]) == 2
    assert body["count"] == 5


def test_tags_endpoint_counts_tasks_per_tag(alice_api):
    create(alice_api, tags=["work", "home"])
    create(alice_api, tags=["Work"])
    create(alice_api, tags=[])
    assert alice_api.get("/api/tags").json() == [{"name": "home", "task_count": 1},
                                                 {"name": "work", "task_count": 2}]


def test_openapi_schema_and_docs_are_served(client):
    schema = client.get("/api/openapi.json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    for path in ("/api/tasks", "/api/tasks/{task_id}", "/api/tasks/{task_id}/complete",
                 "/api/tasks/{task_id}/reopen", "/api/tags", "/api/auth/register", "/api/auth/token"):
        assert path in paths, path
    assert client.get("/api/docs").status_code == 200
