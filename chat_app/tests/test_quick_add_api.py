"""Quick add over REST: one line becomes a task through the assistant's grammar, and the answer says
what was understood and where, so a client can highlight it.  The preview writes nothing."""

import json
from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from tasks_app.models import OutboxEvent, Task

pytestmark = pytest.mark.django_db

RENT = "Pay rent every month #home p2 remind me 1 day before"


def post(client, path, body, **headers):
    return client.post(path, json.dumps(body), content_type="application/json", headers=headers)


def parts_by_kind(parts):
    found = {}
    for part in parts:
        found.setdefault(part["kind"], []).append(part)
    return found


def test_quick_add_creates_the_task_the_line_describes(alice_api, alice):
    response = post(alice_api, "/api/tasks/quick", {"text": RENT})
    assert response.status_code == 201, response.content
    body = response.json()
    task = body["task"]
    assert task["title"] == "Pay rent"
    assert task["priority"] == "P2"
    assert task["tags"] == ["home"]
    assert task["recurrence"] == "FREQ=MONTHLY"
    assert task["reminder_minutes_before"] == 24 * 60
    assert response["Location"].endswith(f"/api/tasks/{task['id']}")
    stored = Task.objects.get(pk=task["id"])
    assert stored.user == alice and stored.title == "Pay rent"
    assert alice_api.get(f"/api/tasks/{task['id']}")["ETag"] == response["ETag"]


def test_every_part_comes_with_its_span_in_the_text_as_sent(alice_api):
    body = post(alice_api, "/api/tasks/quick", {"text": RENT}).json()
    for part in body["parts"]:
        assert RENT[part["start"]:part["end"]] == part["text"], part
    kinds = parts_by_kind(body["parts"])
    assert [p["text"] for p in kinds["title"]] == ["Pay rent"]
    assert [(p["text"], p["value"]) for p in kinds["recurrence"]] == [("every month", "FREQ=MONTHLY")]
    assert [(p["text"], p["value"]) for p in kinds["tag"]] == [("#home", "home")]
    assert [(p["text"], p["value"]) for p in kinds["priority"]] == [("p2", "P2")]
    assert [(p["text"], p["value"]) for p in kinds["reminder"]] == [("remind me 1 day before", 1440)]
    assert [p["start"] for p in body["parts"]] == sorted(p["start"] for p in body["parts"]), "in typed order"


def test_spans_count_in_the_text_as_typed_with_its_extra_spaces_and_quotes(alice_api, midday):
    text = "“Buy   milk”  tomorrow 5pm   #Shopping  urgent!"
    body = post(alice_api, "/api/tasks/quick", {"text": text}).json()
    task = body["task"]
    assert task["title"] == "Buy milk"
    assert task["priority"] == "P1" and task["tags"] == ["Shopping"]
    kinds = parts_by_kind(body["parts"])
    assert [p["text"] for p in kinds["title"]] == ["Buy   milk"]  # inside the quotes, as typed
    assert [p["text"] for p in kinds["due"]] == ["tomorrow 5pm"]
    assert [p["text"] for p in kinds["tag"]] == ["#Shopping"]
    assert [p["text"] for p in kinds["priority"]] == ["urgent"]
    due = datetime.fromisoformat(task["due_at"])
    local = timezone.localtime(timezone.now())
    assert timezone.localtime(due).date() == (local + timedelta(days=1)).date()
    assert timezone.localtime(due).hour == 17
    for part in body["parts"]:
        assert text[part["start"]:part["end"]] == part["text"]


def test_a_phrase_split_by_another_is_two_spans(alice_api):
    text = "Dentist tomorrow #health 5pm"
    body = post(alice_api, "/api/tasks/quick", {"text": text}).json()
    assert [p["text"] for p in parts_by_kind(body["parts"])["due"]] == ["tomorrow", "5pm"]
    assert body["task"]["title"] == "Dentist"


def test_the_preview_reads_the_line_and_creates_nothing(alice_api):
    events = OutboxEvent.objects.count()
    response = post(alice_api, "/api/tasks/quick/preview", {"text": RENT})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["problem"] is None
    assert body["fields"]["title"] == "Pay rent" and body["fields"]["priority"] == "P2"
    assert body["fields"]["tags"] == ["home"] and body["fields"]["recurrence"] == "FREQ=MONTHLY"
    assert {part["kind"] for part in body["parts"]} == {"title", "recurrence", "tag", "priority", "reminder"}
    assert Task.objects.count() == 0 and OutboxEvent.objects.count() == events


def test_the_preview_says_what_is_missing_while_the_line_has_no_title_yet(alice_api):
    body = post(alice_api, "/api/tasks/quick/preview", {"text": "#home p1 tomorrow"}).json()
    assert body["problem"] and "title" in body["problem"]
    assert body["fields"]["title"] is None
    assert {part["kind"] for part in body["parts"]} == {"tag", "priority", "due"}


@pytest.mark.parametrize("text", ["   ", "#home p1 tomorrow", "urgent"])
def test_a_line_without_a_title_is_a_422_naming_the_text(alice_api, text):
    response = post(alice_api, "/api/tasks/quick", {"text": text})
    assert response.status_code == 422, response.content
    assert "text" in json.dumps(response.json()["detail"])
    assert Task.objects.count() == 0


@pytest.mark.parametrize("body, problem", [
    ({"text": ""}, "at least 1"),
    ({"text": "x" * 1001}, "at most 1000"),
    ({"text": "Buy milk\u0000 tomorrow"}, "NUL"),
    ({"text": 42}, "string"),
    ({}, "required"),
])
def test_hostile_text_is_refused_with_a_422_naming_the_problem(alice_api, body, problem):
    for path in ("/api/tasks/quick", "/api/tasks/quick/preview"):
        response = post(alice_api, path, body)
        assert response.status_code == 422, (path, response.content)
        assert problem.lower() in json.dumps(response.json()["detail"]).lower()
    assert Task.objects.count() == 0


def test_a_title_too_long_for_a_task_is_the_services_422(alice_api):
    response = post(alice_api, "/api/tasks/quick", {"text": "word " * 60 + "#home"})
    assert response.status_code == 422
    assert "title" in json.dumps(response.json()["detail"])


def test_quick_add_needs_a_signed_in_user(client):
    assert post(client, "/api/tasks/quick", {"text": RENT}).status_code == 401
    assert post(client, "/api/tasks/quick/preview", {"text": RENT}).status_code == 401


def test_the_task_is_the_callers_own(alice_api, bob_api, alice, bob):
    task = post(bob_api, "/api/tasks/quick", {"text": "Bob's errand #home"}).json()["task"]
    assert Task.objects.get(pk=task["id"]).user == bob
    assert alice_api.get(f"/api/tasks/{task['id']}").status_code == 404
