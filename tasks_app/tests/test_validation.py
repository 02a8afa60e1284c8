"""Bad input is a 422 that names the field — never a 500."""

import json

import pytest

pytestmark = pytest.mark.django_db


def error_fields(response):
    assert response.status_code == 422, (response.status_code, response.content)
    return {error["field"].split(".")[0] for error in response.json()["errors"] if error["field"]}


def post_task(client, body):
    return client.post("/api/tasks", json.dumps(body), content_type="application/json")


@pytest.mark.parametrize(
    "body, field",
    [
        ({"title": "x", "tags": [f"t{n}" for n in range(11)]}, "tags"),
        ({"title": "x", "tags": [""]}, "tags"),
        ({"title": "x", "tags": ["x" * 51]}, "tags"),
        ({"title": "x", "priority": "P9"}, "priority"),
        ({"title": "x", "priority": 1}, "priority"),
        ({"title": "x", "due_at": "next tuesday-ish"}, "due_at"),
        ({"title": "x", "due_at": "2027-02-30T10:00:00Z"}, "due_at"),
        ({"title": "x", "recurrence": "FREQ=WEEKLY;FOO=BAR"}, "recurrence"),
        ({"title": "x", "recurrence": "FREQ=FORTNIGHTLY"}, "recurrence"),
        ({"title": "x", "recurrence": "INTERVAL=2"}, "recurrence"),
        ({"title": "x", "recurrence": "whenever"}, "recurrence"),
        ({"title": "x" * 201}, "title"),
        ({"title": "   "}, "title"),
        ({}, "title"),
        ({"title": "x", "reminder_minutes_before": -1}, "reminder_minutes_before"),
        ({"title": "x", "reminder_minutes_before": 40321}, "reminder_minutes_before"),
        ({"title": "x", "reminder_minutes_before": "soon"}, "reminder_minutes_before"),
    ],
)
def test_create_rejects_bad_input_naming_the_field(alice_api, body, field):
    assert field in error_fields(post_task(alice_api, body))


def test_eleven_distinct_tags_are_rejected_but_ten_with_repeats_are_fine(alice_api):
    ten = [f"t{n}" for n in range(10)]
    assert post_task(alice_api, {"title": "x", "tags": ten + ["T0", "#t1"]}).status_code == 201
    assert "tags" in error_fields(post_task(alice_api, {"title": "x", "tags": ten + ["t10"]}))


def test_patch_rejects_bad_input_naming_the_field(alice_api):
    task = post_task(alice_api, {"title": "ok"}).json()
    for body, field in [({"priority": "urgent"}, "priority"), ({"title": ""}, "title"),
                        ({"recurrence": "FREQ=DAILY;BYDAY=XX"}, "recurrence"),
                        ({"tags": [str(n) for n in range(11)]}, "tags"), ({"due_at": "tomorrow"}, "due_at")]:
        response = alice_api.patch(f"/api/tasks/{task['id']}", json.dumps(body), content_type="application/json")
        assert field in error_fields(response), body
    unchanged = alice_api.get(f"/api/tasks/{task['id']}").json()
    assert unchanged["title"] == "ok" and unchanged["tags"] == []


@pytest.mark.parametrize("query", ["limit=0", "limit=201", "limit=abc", "completed=maybe"])
def test_list_rejects_bad_query_parameters(alice_api, query):
    assert alice_api.get(f"/api/tasks?{query}").status_code == 422


def test_malformed_json_is_a_client_error(alice_api):
    response = alice_api.post("/api/tasks", "{not json", content_type="application/json")
    # As the README's problem types say: 400 malformed-request (a bad value would be a 422).
    assert (response.status_code, response.json()["type"]) == (400, "/problems/malformed-request")


def test_non_numeric_task_id_is_not_found(alice_api):
    assert alice_api.get("/api/tasks/abc").status_code == 404
