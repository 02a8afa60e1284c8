"""Undo through POST /api/undo, on the real database: each kind of change is reverted, a recurring
task's completion takes its spawned occurrence with it, a deleted task comes back as it was, undo is
an outbox event, bounded, per user, refused on conflict, and never reverts a change twice."""

import json
import threading

import pytest
from django.db import connection

from tasks_app import services
from tasks_app.models import Change, OutboxEvent, Task

pytestmark = pytest.mark.django_db


def post(client, path, body=None):
    return client.post(path, json.dumps(body or {}), content_type="application/json")


def undo(client, count=None):
    return post(client, "/api/undo", {} if count is None else {"count": count})


def create(client, **fields):
    response = post(client, "/api/tasks", {"title": "A task", **fields})
    assert response.status_code == 201, response.content
    return response.json()


def test_undoing_a_creation_deletes_the_task(alice_api, alice):
    task = create(alice_api, title="Buy milk")
    response = undo(alice_api)
    assert response.status_code == 200, response.content
    assert response.json()["undone"] == [{"change_id": Change.objects.get().pk, "kind": "created",
                                          "task_id": task["id"], "title": "Buy milk", "now": "deleted"}]
    assert not Task.objects.filter(pk=task["id"]).exists()


def test_undoing_an_update_restores_fields_and_tags(alice_api):
    task = create(alice_api, title="Report", priority="P3", tags=["work"], due_at="2027-03-01T09:00:00Z")
    alice_api.patch(f"/api/tasks/{task['id']}", json.dumps({"title": "Final report", "priority": "P1",
                                                            "tags": ["urgent", "home"], "due_at": None}),
                    content_type="application/json")
    assert undo(alice_api).json()["undone"][0]["now"] == "changed back"
    restored = alice_api.get(f"/api/tasks/{task['id']}").json()
    assert (restored["title"], restored["priority"], restored["tags"]) == ("Report", "P3", ["work"])
    assert restored["due_at"] == task["due_at"]


def test_undoing_a_completion_reopens_the_task(alice_api):
    task = create(alice_api)
    post(alice_api, f"/api/tasks/{task['id']}/complete")
    assert undo(alice_api).json()["undone"][0]["now"] == "reopened"
    reopened = alice_api.get(f"/api/tasks/{task['id']}").json()
    assert reopened["completed"] is False and reopened["completed_at"] is None


def test_undoing_a_recurring_completion_removes_the_occurrence_it_spawned(alice_api, alice):
    task = create(alice_api, title="Standup", recurrence="daily", due_at="2027-01-04T09:00:00Z")
    post(alice_api, f"/api/tasks/{task['id']}/complete")
    spawned = services.task_spawn_next_occurrence(task_id=task["id"])
    assert spawned is not None

    undone = undo(alice_api).json()["undone"]
    assert [item["now"] for item in undone] == ["reopened"]
    assert not Task.objects.filter(pk=spawned.pk).exists()
    original = Task.objects.get(pk=task["id"])
    assert not original.completed and original.recurrence_state is None
    # Completing it again spawns a fresh next occurrence.
    services.task_complete(task=original)
    assert services.task_spawn_next_occurrence(task_id=original.pk) is not None
    assert Task.objects.filter(user=alice).count() == 2


def test_undoing_a_reopen_completes_the_task_again(alice_api):
    task = create(alice_api)
    done = post(alice_api, f"/api/tasks/{task['id']}/complete").json()
    post(alice_api, f"/api/tasks/{task['id']}/reopen")
    assert undo(alice_api).json()["undone"][0]["now"] == "completed"
    again = alice_api.get(f"/api/tasks/{task['id']}").json()
    assert again["completed"] is True and again["completed_at"] == done["completed_at"]


def test_undoing_a_delete_restores_the_task_with_its_id_tags_and_dates(alice_api, alice):
    task = create(alice_api, title="Dentist", tags=["health", "calls"], due_at="2027-05-01T10:00:00Z",
                  reminder_minutes_before=30, description="Bring the card")
    assert alice_api.delete(f"/api/tasks/{task['id']}").status_code == 204
    assert undo(alice_api).json()["undone"][0]["now"] == "restored"
    restored = alice_api.get(f"/api/tasks/{task['id']}").json()
    for name in ("id", "title", "description", "tags", "due_at", "reminder_minutes_before", "created_at"):
        assert restored[name] == task[name], name
    # Findable again by search (its search vector is rebuilt on insert).
    assert [t["id"] for t in alice_api.get("/api/tasks?q=dentist").json()["items"]] == [task["id"]]


def test_undo_the_last_three_reverts_three_actions_newest_first(alice_api, alice):
    first = create(alice_api, title="First")
    create(alice_api, title="Second")
    create(alice_api, title="Third")
    create(alice_api, title="Fourth")
    undone = undo(alice_api, count=3).json()["undone"]
    assert [item["title"] for item in undone] == ["Fourth", "Third", "Second"]
    assert list(Task.objects.filter(user=alice).values_list("pk", flat=True)) == [first["id"]]


def test_undo_is_an_outbox_event(alice_api):
    task = create(alice_api)
    post(alice_api, f"/api/tasks/{task['id']}/complete")
    undo(alice_api)
    event = OutboxEvent.objects.order_by("-id").first()
    assert event.type == "todo.task.undone" and event.task_id == task["id"]
    assert event.payload["data"]["undone"] == {"change_id": Change.objects.get(kind="completed").pk,
                                               "kind": "completed"}
    assert event.payload["data"]["removed"] is False and event.payload["data"]["task"]["completed"] is False


def test_nothing_to_undo_is_a_409_problem(alice_api):
    response = undo(alice_api)
    assert response.status_code == 409
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["detail"].startswith("nothing to undo")


def test_an_undone_change_is_not_undone_again(alice_api):
    create(alice_api, title="Once")
    assert undo(alice_api).status_code == 200
    assert undo(alice_api).status_code == 409


def test_a_change_undo_did_not_record_is_a_conflict_and_nothing_is_reverted(alice_api, alice):
    task = create(alice_api, title="Original")
    other = create(alice_api, title="Other")
    # Changed behind undo's back (an operator's SQL, an import): the task is not as the change left it.
    Task.objects.filter(pk=task["id"]).update(title="Edited elsewhere")
    response = undo(alice_api, count=2)
    assert response.status_code == 409 and "changed after it was created" in response.json()["detail"]
    assert Task.objects.filter(pk=other["id"]).exists(), "all or nothing"


def test_count_is_bounded(alice_api, settings):
    settings.UNDO_MAX_PER_CALL = 5
    create(alice_api)
    for count in (0, 6, 101):
        assert undo(alice_api, count=count).status_code == 422, count


def test_changes_older_than_the_retention_window_cannot_be_undone(alice_api, settings):
    from datetime import timedelta

    from django.utils import timezone

    create(alice_api)
    Change.objects.update(created_at=timezone.now() - timedelta(days=settings.UNDO_RETENTION_DAYS + 1))
    assert undo(alice_api).status_code == 409
    assert services.retention_prune()["changes"] == 1


def test_a_user_cannot_undo_another_users_change(alice_api, bob_api):
    task = create(alice_api, title="Alice's")
    assert undo(bob_api).status_code == 409
    assert alice_api.get(f"/api/tasks/{task['id']}").status_code == 200


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_undos_never_revert_one_change_twice(alice):
    kept = services.task_create(user=alice, title="Kept")
    services.task_create(user=alice, title="Newest")
    results, errors = [], []

    def run():
        try:
            results.append(services.undo_last(user=alice, count=1))
        except services.NothingToUndo as exc:
            errors.append(exc)
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Each undo took its own action: "Newest" then "Kept", never the same one twice.
    assert not errors, errors
    assert sorted(item.title for result in results for item in result) == ["Kept", "Newest"]
    assert not Task.objects.filter(user=alice).exists()
    assert Change.objects.filter(undone_at__isnull=False).count() == 2
    assert kept.pk


def test_an_import_is_one_action_and_undo_takes_it_all_back(alice_api, alice):
    from pathlib import Path

    from django.core.management import call_command

    create(alice_api, title="Before the import")
    call_command("import_tasks", str(Path(__file__).with_name("fixtures") / "tasks.ics"), user="alice")
    imported = Task.objects.filter(user=alice).count() - 1
    assert imported > 1 and Task.objects.filter(user=alice, completed=True).exists()

    undone = undo(alice_api).json()["undone"]
    assert len(undone) == imported and {item["now"] for item in undone} == {"deleted"}
    assert list(Task.objects.filter(user=alice).values_list("title", flat=True)) == ["Before the import"]


def test_undo_events_match_the_published_event_schema(alice_api):
    from pathlib import Path

    import jsonschema

    schema = json.loads((Path(__file__).resolve().parents[2] / "docs" / "events.schema.json").read_text())
    validator = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())
    kept = create(alice_api, title="Kept", tags=["home"])
    post(alice_api, f"/api/tasks/{kept['id']}/complete")
    create(alice_api, title="Dropped")
    alice_api.delete(f"/api/tasks/{kept['id']}")
    undo(alice_api, count=3)  # restored, then the creation and the completion undone
    undone = list(OutboxEvent.objects.filter(type="todo.task.undone").order_by("id"))
    assert [event.payload["data"]["removed"] for event in undone] == [False, True, False]
    for event in undone:
        validator.validate(event.payload)


def test_each_user_keeps_at_most_the_configured_number_of_changes(alice, bob, settings):
    settings.UNDO_HISTORY_PER_USER = 2
    for title in ("One", "Two", "Three", "Four"):
        services.task_create(user=alice, title=title)
    services.task_create(user=bob, title="Bob's only")
    assert services.retention_prune()["changes"] == 2
    kept = Change.objects.filter(user=alice).order_by("id")
    assert [change.after["title"] for change in kept] == ["Three", "Four"]
    assert Change.objects.filter(user=bob).count() == 1


def test_undo_leaves_no_tag_it_emptied_behind(alice_api, alice):
    from tasks_app.models import Tag

    first = create(alice_api, title="Report", tags=["work"])
    create(alice_api, title="Slides", tags=["work", "office"])
    assert alice_api.patch("/api/tags/work", json.dumps({"name": "job"}),
                           content_type="application/json").status_code == 200
    undo(alice_api)  # the rename: both tasks carry "work" again, and no empty "job" is left
    assert sorted(Tag.objects.filter(user=alice).values_list("name", flat=True)) == ["office", "work"]
    assert alice_api.get(f"/api/tasks/{first['id']}").json()["tags"] == ["work"]

    create(alice_api, title="Someday", tags=["Maybe", "work"])
    undo(alice_api)  # the creation: "maybe" was only on that task; "work" is still on two others
    assert sorted(Tag.objects.filter(user=alice).values_list("name", flat=True)) == ["office", "work"]
