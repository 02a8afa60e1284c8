"""Idempotency-Key on every other REST write (tasks_app/idempotent_api.py): PATCH, DELETE, complete, ...

A retry with the same key is answered from the first answer and changes nothing; concurrency is real
(threads with their own connections, held inside PostgreSQL until all are in)."""

import json

import pytest

from tasks_app import services
from tasks_app.models import IdempotencyKey, OutboxEvent, Task
from tasks_app.tests.test_idempotency import send_all_at_once

pytestmark = pytest.mark.django_db


def send(client, method, path, body=None, key=None):
    headers = {"Idempotency-Key": key} if key is not None else {}
    data = json.dumps(body) if body is not None else ""
    return getattr(client, method.lower())(path, data, content_type="application/json", headers=headers)


@pytest.fixture
def task(alice):
    return services.task_create(user=alice, title="Pay rent")


def test_a_patch_retried_with_its_key_is_replayed_and_changes_nothing_twice(alice_api, task):
    first = send(alice_api, "PATCH", f"/api/tasks/{task.pk}", {"title": "Pay the rent"}, "patch-1")
    assert first.status_code == 200, first.content
    events = OutboxEvent.objects.count()
    Task.objects.filter(pk=task.pk).update(title="Changed elsewhere since")
    again = send(alice_api, "PATCH", f"/api/tasks/{task.pk}", {"title": "Pay the rent"}, "patch-1")
    assert again.status_code == 200
    assert again.json() == first.json()
    assert again["ETag"] == first["ETag"]
    assert again["Idempotent-Replayed"] == "true" and not first.has_header("Idempotent-Replayed")
    assert Task.objects.get(pk=task.pk).title == "Changed elsewhere since", "the replay did not write again"
    assert OutboxEvent.objects.count() == events


def test_a_delete_retried_with_its_key_answers_204_again_not_404(alice_api, task):
    first = send(alice_api, "DELETE", f"/api/tasks/{task.pk}", key="delete-1")
    assert first.status_code == 204, first.content
    again = send(alice_api, "DELETE", f"/api/tasks/{task.pk}", key="delete-1")
    assert again.status_code == 204 and again["Idempotent-Replayed"] == "true"
    assert send(alice_api, "DELETE", f"/api/tasks/{task.pk}").status_code == 404, "without the key: gone"


def test_a_complete_retried_with_its_key_is_replayed(alice_api, task):
    first = send(alice_api, "POST", f"/api/tasks/{task.pk}/complete", key="complete-1")
    assert first.status_code == 200, first.content
    events = OutboxEvent.objects.count()
    again = send(alice_api, "POST", f"/api/tasks/{task.pk}/complete", key="complete-1")
    assert again.status_code == 200 and again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert OutboxEvent.objects.count() == events


def test_the_same_key_with_another_body_is_a_422_and_changes_nothing(alice_api, task):
    assert send(alice_api, "PATCH", f"/api/tasks/{task.pk}", {"title": "A"}, "k-body").status_code == 200
    other = send(alice_api, "PATCH", f"/api/tasks/{task.pk}", {"title": "B"}, "k-body")
    assert other.status_code == 422
    assert "Idempotency-Key 'k-body' was already used" in other.json()["detail"]
    assert Task.objects.get(pk=task.pk).title == "A"


def test_the_same_key_on_another_route_is_a_422(alice_api, task):
    assert send(alice_api, "POST", f"/api/tasks/{task.pk}/complete", key="k-route").status_code == 200
    reopen = send(alice_api, "POST", f"/api/tasks/{task.pk}/reopen", key="k-route")
    assert reopen.status_code == 422
    assert Task.objects.get(pk=task.pk).completed


def test_a_4xx_answer_is_not_stored_and_the_fixed_retry_with_the_key_succeeds(alice_api, task):
    bad = send(alice_api, "PATCH", f"/api/tasks/{task.pk}", {"priority": "P9"}, "k-fix")
    assert bad.status_code == 422, bad.content
    assert not IdempotencyKey.objects.filter(key="k-fix").exists()
    fixed = send(alice_api, "PATCH", f"/api/tasks/{task.pk}", {"priority": "P1"}, "k-fix")
    assert fixed.status_code == 200, fixed.content
    assert Task.objects.get(pk=task.pk).priority == "P1"


def test_keys_are_per_user(alice_api, bob_api, alice, bob, task):
    bobs = services.task_create(user=bob, title="Bob's")
    assert send(alice_api, "POST", f"/api/tasks/{task.pk}/complete", key="shared").status_code == 200
    answer = send(bob_api, "POST", f"/api/tasks/{bobs.pk}/complete", key="shared")
    assert answer.status_code == 200 and not answer.has_header("Idempotent-Replayed")
    assert Task.objects.get(pk=bobs.pk).completed


@pytest.mark.parametrize("key", ["has space", "k" * 256, "ünïcode"])
def test_a_malformed_key_is_a_422_naming_the_header(alice_api, task, key):
    answer = send(alice_api, "POST", f"/api/tasks/{task.pk}/complete", key=key)
    assert answer.status_code == 422 and "Idempotency-Key" in answer.json()["detail"]
    assert answer["Content-Type"] == "application/problem+json"  # the API's one error shape
    assert answer.json()["errors"][0]["field"] == "Idempotency-Key"
    assert not Task.objects.get(pk=task.pk).completed


def test_other_routes_are_covered_too_tags_me_and_notifications(alice_api, alice):
    services.task_create(user=alice, title="Tagged", tags=["home"])
    first = send(alice_api, "PATCH", "/api/tags/home", {"name": "house"}, "tag-1")
    assert first.status_code == 200, first.content
    again = send(alice_api, "PATCH", "/api/tags/home", {"name": "house"}, "tag-1")
    assert again.status_code == 200 and again["Idempotent-Replayed"] == "true"
    me = send(alice_api, "PATCH", "/api/me", {"timezone": "Europe/Paris"}, "me-1")
    assert me.status_code == 200, me.content
    assert send(alice_api, "PATCH", "/api/me", {"timezone": "Europe/Paris"}, "me-1")["Idempotent-Replayed"] == "true"


def test_an_import_retried_with_its_key_and_another_multipart_boundary_imports_once(alice_api, alice):
    csv = ("TYPE,CONTENT,DESCRIPTION,PRIORITY,INDENT,AUTHOR,RESPONSIBLE,DATE,DATE_LANG,TIMEZONE\r\n"
           "task,Water plants,,1,1,,,,en,UTC\r\n")

    def upload(boundary):
        body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"t.csv\"\r\n"
                f"Content-Type: text/csv\r\n\r\n{csv}\r\n--{boundary}--\r\n")
        return alice_api.post("/api/import", body, content_type=f"multipart/form-data; boundary={boundary}",
                              headers={"Idempotency-Key": "import-1"})

    first = upload("first-boundary")
    assert first.status_code == 200, first.content
    again = upload("another-boundary")
    assert again.status_code == 200 and again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert Task.objects.filter(user=alice, title="Water plants").count() == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("method, suffix, body", [("POST", "/complete", None), ("PATCH", "", {"title": "Renamed"})])
def test_concurrent_duplicates_make_one_change_and_get_identical_answers(alice, method, suffix, body):
    task = services.task_create(user=alice, title="Pay rent")
    events = OutboxEvent.objects.count()
    answers = send_all_at_once(
        alice, lambda client: send(client, method, f"/api/tasks/{task.pk}{suffix}", body, "eight-at-once"), 8)
    failures = [answer for answer in answers if isinstance(answer, Exception) or answer.status_code != 200]
    assert not failures, [getattr(answer, "content", answer) for answer in failures]
    assert len({json.dumps(answer.json(), sort_keys=True) for answer in answers}) == 1
    assert sum(answer.has_header("Idempotent-Replayed") for answer in answers) == 7
    assert OutboxEvent.objects.count() == events + 1
