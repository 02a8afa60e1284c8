"""Import (Todoist CSV, iCalendar VTODO, this app's JSON) and export, through the command and the API,
on the real database: all or nothing, per-row errors, dry runs, and a lossless round trip."""

import csv
import json
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.utils import timezone

from tasks_app import services
from tasks_app.models import OutboxEvent, Priority, RecurrenceState, Task

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).with_name("fixtures")
TODOIST_CSV = FIXTURES / "todoist_export.csv"
ICS = FIXTURES / "tasks.ics"
HEADER = "TYPE,CONTENT,DESCRIPTION,PRIORITY,INDENT,AUTHOR,RESPONSIBLE,DATE,DATE_LANG,TIMEZONE\r\n"


def todoist_task_rows() -> list[dict]:
    with TODOIST_CSV.open(newline="", encoding="utf-8") as stream:
        return [row for row in csv.DictReader(stream) if row["TYPE"] == "task"]


def upload(client, content: bytes | str, name="tasks.csv", **query):
    data = content.encode() if isinstance(content, str) else content
    params = "&".join(f"{key}={str(value).lower()}" for key, value in query.items())
    return client.post(f"/api/import?{params}", {"file": SimpleUploadedFile(name, data)})


# --------------------------------------------------------------------------- Todoist CSV


def test_todoist_export_imports_every_task_with_its_priority_labels_notes_and_dates(alice, capsys):
    call_command("import_tasks", str(TODOIST_CSV), user="alice")
    assert "imported 420 of 420 tasks (todoist)" in capsys.readouterr().out

    rows = todoist_task_rows()
    tasks = {task.title: task for task in Task.objects.filter(user=alice).prefetch_related("tags")}
    assert len(tasks) == len(rows) == 420
    inverted = {"4": "P1", "3": "P2", "2": "P3", "1": "P4"}
    for row in rows:
        words = row["CONTENT"].split()
        title = " ".join(word for word in words if not word.startswith("@"))
        task = tasks[title]
        assert task.priority == inverted[row["PRIORITY"]], row
        assert sorted(tag.name for tag in task.tags.all()) == sorted(w[1:] for w in words if w.startswith("@"))
        assert (task.recurrence is not None) == row["DATE"].startswith("every"), row
        # Todoist's every! repeats from the completion date: the option of the same meaning.
        assert task.recurrence_from_completion == row["DATE"].startswith("every!"), row
        assert (task.due_at is not None) == bool(row["DATE"]), row
        if row["DATE"] == "2027-03-01 10:00":  # an absolute time, read in the row's own zone
            zone = ZoneInfo(row["TIMEZONE"] or "UTC")
            assert task.due_at == datetime(2027, 3, 1, 10, 0, tzinfo=zone), row
    weekly = [tasks[" ".join(w for w in r["CONTENT"].split() if not w.startswith("@"))]
              for r in rows if r["DATE"] == "every sunday at 18:00"]
    assert weekly and all(task.recurrence == "FREQ=WEEKLY;BYDAY=SU" for task in weekly)
    for task, row in zip(weekly, (r for r in rows if r["DATE"] == "every sunday at 18:00")):
        local = task.due_at.astimezone(ZoneInfo(row["TIMEZONE"] or "UTC"))
        assert (local.weekday(), local.hour, local.minute) == (6, 18, 0)  # the first Sunday, not today
    noted = [task for task in tasks.values() if "remember the receipt" in task.description]
    assert len(noted) == sum(1 for line in TODOIST_CSV.read_text().splitlines() if line.startswith("note,"))


def test_todoist_row_errors_name_the_row_and_nothing_is_imported(alice, tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text(HEADER
                   + "task,Good one @home,,4,1,,,tomorrow,en,\r\n"
                   + "task,Bad priority,,7,1,,,,en,\r\n"
                   + "task,Unreadable date,,1,1,,,every third blue moon,en,\r\n"
                   + "task,Bad zone,,1,1,,,tomorrow,en,Mars/Olympus\r\n"
                   + "task," + "x" * 600 + ",,1,1,,,,en,\r\n")
    with pytest.raises(CommandError, match="4 of 5 rows cannot be imported, so nothing was"):
        call_command("import_tasks", str(bad), user="alice")
    err = capsys.readouterr().err
    assert "row 3: PRIORITY: '7' is not a Todoist priority" in err
    assert "row 4: DATE: cannot read the date 'every third blue moon'" in err
    assert "row 5: TIMEZONE: unknown time zone 'Mars/Olympus'" in err
    assert "row 6: title:" in err
    assert not Task.objects.filter(user=alice).exists()
    assert not OutboxEvent.objects.filter(user_id=alice.pk).exists()

    call_command("import_tasks", str(bad), user="alice", skip_errors=True)
    assert "imported 1 of 5 tasks (todoist), 4 skipped" in capsys.readouterr().out
    task = Task.objects.get(user=alice)
    assert (task.title, task.priority, [tag.name for tag in task.tags.all()]) == ("Good one", Priority.P1, ["home"])


def test_dry_run_reports_and_writes_nothing(alice, capsys):
    call_command("import_tasks", str(TODOIST_CSV), user="alice", dry_run=True)
    assert "dry run: 420 of 420 tasks would be imported (todoist), 0 with errors" in capsys.readouterr().out
    assert not Task.objects.filter(user=alice).exists()
    assert not alice.tags.exists()


def test_import_command_refuses_unknown_users_and_unreadable_files(alice, tmp_path):
    with pytest.raises(CommandError, match="no user named 'nobody'"):
        call_command("import_tasks", str(TODOIST_CSV), user="nobody")
    with pytest.raises(CommandError, match="cannot read"):
        call_command("import_tasks", str(tmp_path / "missing.csv"), user="alice")
    (tmp_path / "notes.txt").write_text("just some notes")
    with pytest.raises(CommandError, match="cannot tell the file's format"):
        call_command("import_tasks", str(tmp_path / "notes.txt"), user="alice")


# --------------------------------------------------------------------------- iCalendar


def test_ics_vtodos_import_with_priority_categories_due_rule_alarm_and_completion(alice):
    call_command("import_tasks", str(ICS), user="alice")
    tasks = {task.title: task for task in Task.objects.filter(user=alice)}
    assert set(tasks) == {"Weekly team standup", "File taxes", "Buy oat milk", "Call the plumber"}  # no VEVENT

    standup = tasks["Weekly team standup"]
    assert standup.priority == Priority.P1
    assert sorted(tag.name for tag in standup.tags.all()) == ["meetings", "work"]
    assert standup.due_at == datetime(2027, 1, 4, 9, 30, tzinfo=ZoneInfo("Europe/Berlin"))
    assert standup.recurrence == "FREQ=WEEKLY;BYDAY=MO"
    assert standup.reminder_minutes_before == 30
    assert standup.description == "Bring the numbers, and the plan"

    assert tasks["File taxes"].priority == Priority.P3
    assert tasks["File taxes"].due_at.astimezone(timezone.get_default_timezone()).date().isoformat() == "2027-05-31"
    milk = tasks["Buy oat milk"]
    assert (milk.priority, milk.completed, milk.completed_at) == (
        Priority.P4, True, datetime(2026, 11, 20, 17, 45, tzinfo=ZoneInfo("UTC")))
    assert tasks["Call the plumber"].reminder_minutes_before == 24 * 60
    # The completed one is announced as completed too, so consumers see what the database holds.
    assert OutboxEvent.objects.filter(task_id=milk.pk, type="todo.task.completed").count() == 1


# --------------------------------------------------------------------------- API and round trip


def test_export_then_import_into_a_fresh_user_round_trips_with_nothing_lost(alice, bob, alice_api, bob_api):
    now = timezone.now()
    services.task_create(user=alice, title="Plain", description="with words")
    services.task_create(user=alice, title="Tagged P1", priority="P1", tags=["work", "urgent"],
                         due_at=now + timedelta(days=2), reminder_minutes_before=45)
    series = services.task_create(user=alice, title="Standup", recurrence="FREQ=WEEKLY;BYDAY=MO",
                                  due_at=now - timedelta(days=3), tags=["meetings"])
    services.task_complete(task=series)
    next_one = services.task_spawn_next_occurrence(task_id=series.pk)
    assert next_one is not None and next_one.previous_occurrence_id == series.pk
    done = services.task_create(user=alice, title="Done already")
    services.task_complete(task=done)

    exported = alice_api.get("/api/export")
    assert exported.status_code == 200
    assert exported["Content-Disposition"].startswith('attachment; filename="tasks-')
    document = exported.json()
    assert (document["format"], document["version"], len(document["tasks"])) == ("todo-tasks", 1, 5)

    response = upload(bob_api, exported.content, name="export.json")
    assert response.status_code == 200, response.content
    assert response.json()["created"] == 5 and response.json()["committed"] is True

    again = bob_api.get("/api/export").json()["tasks"]
    new_id = {old["id"]: new["id"] for old, new in zip(document["tasks"], again)}

    def comparable(item, ids):
        return {**item, "id": ids.get(item["id"], item["id"]),
                "previous_occurrence": ids.get(item["previous_occurrence"], item["previous_occurrence"])}
    assert [comparable(item, new_id) for item in document["tasks"]] == again
    assert Task.objects.filter(user=alice).count() == 5  # alice's own tasks untouched
    spawned = Task.objects.get(user=bob, title="Standup", completed=False)
    assert spawned.previous_occurrence.user_id == bob.pk
    assert spawned.previous_occurrence.recurrence_state == RecurrenceState.SPAWNED


def test_api_import_is_all_or_nothing_and_lists_each_bad_row(alice, alice_api):
    content = HEADER + "task,Fine,,1,1,,,,en,\r\ntask,,,1,1,,,,en,\r\ntask,Also fine,,9,1,,,,en,\r\n"
    response = upload(alice_api, content)
    assert response.status_code == 422
    body = response.json()
    assert body["detail"].startswith("2 rows cannot be imported, so nothing was")
    assert body["report"]["errors"] == [
        {"row": 3, "field": "title", "message": "must not be empty"},
        {"row": 4, "field": "PRIORITY", "message": "'9' is not a Todoist priority (1–4)"},
    ]
    assert not Task.objects.filter(user=alice).exists()

    dry = upload(alice_api, content, dry_run=True)
    assert dry.status_code == 200 and dry.json()["committed"] is False and len(dry.json()["errors"]) == 2
    assert not Task.objects.filter(user=alice).exists()

    skipped = upload(alice_api, content, skip_errors=True)
    assert skipped.status_code == 200 and skipped.json()["created"] == 1
    assert list(Task.objects.filter(user=alice).values_list("title", flat=True)) == ["Fine"]


@pytest.mark.parametrize(("content", "problem"), [
    (b"\xff\xfe not utf-8", "not UTF-8"),
    ("TYPE,CONTENT\r\ntask,a\x00b\r\n", "NUL"),
    ('{"format": "something-else"}', "not this app's export"),
    ('{"format": "todo-tasks", "version": 2, "tasks": []}', "version 2 is not supported"),
    ("{not json", "not valid JSON"),
    ("BEGIN:VCALENDAR\r\nBEGIN:VTODO\r\nSUMMARY:broken", "not a readable iCalendar file"),
    ("hello", "cannot tell the file's format"),
])
def test_api_import_names_what_is_wrong_with_an_unreadable_file(alice_api, content, problem):
    response = upload(alice_api, content)
    assert response.status_code == 422
    assert problem in response.json()["detail"]


def test_json_rows_with_bad_values_are_reported_not_crashed_on(alice, alice_api):
    document = {"format": "todo-tasks", "version": 1, "tasks": [
        {"title": "ok"}, "not an object", {"title": "bad due", "due_at": "tomorrow"},
        {"title": "naive", "due_at": "2027-01-01T10:00:00"}, {"title": "bad position", "series_position": 0},
        {"title": "bad prio", "priority": "P9"}, {"title": "bad state", "recurrence": "FREQ=DAILY",
                                                   "recurrence_state": "exploded"}]}
    response = upload(alice_api, json.dumps(document), name="x.json")
    assert response.status_code == 422
    assert [(e["row"], e["field"]) for e in response.json()["report"]["errors"]] == [
        (2, None), (3, "due_at"), (4, "due_at"), (5, "series_position"), (6, "priority"), (7, "recurrence_state")]
    assert not Task.objects.filter(user=alice).exists()


def test_import_limits_rows_and_respects_the_task_quota(alice, alice_api, settings):
    rows = "".join(f"task,Task {n},,1,1,,,,en,\r\n" for n in range(6))
    settings.IMPORT_MAX_ROWS = 5
    response = upload(alice_api, HEADER + rows)
    assert response.status_code == 422 and "holds 6 tasks; at most 5" in response.json()["detail"]

    settings.IMPORT_MAX_ROWS = 100
    settings.QUOTA_TASKS_PER_USER = 4
    services.task_create(user=alice, title="already here")
    response = upload(alice_api, HEADER + rows)
    assert response.status_code == 422
    assert response.json()["report"]["errors"] == [
        {"row": 5, "field": None, "message": "quota exceeded: at most 4 tasks per user; delete some to add more"}]
    assert Task.objects.filter(user=alice).count() == 1


def test_export_holds_only_the_callers_tasks_and_import_needs_a_token(alice, bob, bob_api, client):
    services.task_create(user=alice, title="alice's secret")
    assert bob_api.get("/api/export").json()["tasks"] == []
    assert client.get("/api/export").status_code == 401
    assert upload(client, HEADER).status_code == 401


def test_export_command_writes_the_same_document(alice, alice_api, tmp_path):
    services.task_create(user=alice, title="One", tags=["x"])
    target = tmp_path / "out.json"
    call_command("export_tasks", user="alice", output=str(target))
    from_command = json.loads(target.read_text())
    from_api = alice_api.get("/api/export").json()
    assert from_command["tasks"] == from_api["tasks"] and len(from_api["tasks"]) == 1


# --------------------------------------------------------------------------- settings page


def test_settings_page_upload_imports_and_lists_bad_rows(alice, client):
    client.force_login(alice)
    page = client.get("/settings/")
    assert b'action="/settings/import"' in page.content and b'href="/settings/export"' in page.content

    bad = HEADER + "task,Fine @home,,4,1,,,,en,\r\ntask,Broken,,0,1,,,,en,\r\n"
    answer = client.post("/settings/import", {"file": SimpleUploadedFile("t.csv", bad.encode())}, follow=True)
    assert b"Row 3: PRIORITY: &#x27;0&#x27; is not a Todoist priority" in answer.content
    assert b"Nothing was imported: 1 of 2 rows have errors" in answer.content
    assert not Task.objects.filter(user=alice).exists()

    answer = client.post("/settings/import", {"file": SimpleUploadedFile("t.csv", bad.encode()), "skip_errors": "on"},
                         follow=True)
    assert b"Imported 1 of 2 tasks (todoist)." in answer.content
    assert list(Task.objects.filter(user=alice).values_list("title", flat=True)) == ["Fine"]

    answer = client.post("/settings/import", {"file": SimpleUploadedFile("t.txt", b"hello")}, follow=True)
    assert b"Import: cannot tell the file&#x27;s format" in answer.content

    download = client.get("/settings/export")
    assert download.status_code == 200 and [t["title"] for t in download.json()["tasks"]] == ["Fine"]


def test_settings_import_and_export_need_a_signed_in_user(client):
    assert client.get("/settings/export").status_code == 302
    assert client.post("/settings/import", {"file": SimpleUploadedFile("t.csv", HEADER.encode())}).status_code == 302
