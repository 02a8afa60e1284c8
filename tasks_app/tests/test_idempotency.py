"""Idempotency-Key on POST /api/tasks and POST /api/tasks/quick: a retry is answered, not done again.

Concurrency is real: threads with their own database connections send the same request at once,
held at a lock until every one of them is inside PostgreSQL, and exactly one task comes of it."""

import json
import threading
import uuid
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.db import connections, transaction
from django.test import Client
from django.utils import timezone

from tasks_app import services
from tasks_app.accounts import api_token_issue
from tasks_app.models import IdempotencyKey, OutboxEvent, Task
from tasks_app.tests.test_tags_merge_race import wait_until_backends_wait_for_locks

pytestmark = pytest.mark.django_db

ENDPOINTS = [("/api/tasks", {"title": "Pay rent", "priority": "P2", "tags": ["home"]}),
             ("/api/tasks/quick", {"text": "Pay rent tomorrow #home p2"})]


def post(client, path, body, key=None):
    headers = {"Idempotency-Key": key} if key is not None else {}
    return client.post(path, json.dumps(body), content_type="application/json", headers=headers)


def task_id(path, response):
    body = response.json()
    return body["task"]["id"] if path.endswith("/quick") else body["id"]


@pytest.mark.parametrize("path, body", ENDPOINTS)
def test_a_retry_with_the_same_key_gets_the_first_answer_and_creates_nothing(alice_api, path, body):
    key = str(uuid.uuid4())
    first = post(alice_api, path, body, key)
    assert first.status_code == 201, first.content
    events = OutboxEvent.objects.count()
    again = post(alice_api, path, body, key)
    assert again.status_code == 201
    assert again.json() == first.json()
    assert again["Location"] == first["Location"] and again["ETag"] == first["ETag"]
    assert again["Idempotent-Replayed"] == "true" and not first.has_header("Idempotent-Replayed")
    assert Task.objects.count() == 1
    assert OutboxEvent.objects.count() == events, "a replay records no event"


@pytest.mark.parametrize("path, body", ENDPOINTS)
def test_without_a_key_every_request_creates_a_task(alice_api, path, body):
    post(alice_api, path, body)
    post(alice_api, path, body)
    assert Task.objects.count() == 2


@pytest.mark.parametrize("path, body", ENDPOINTS)
def test_the_same_key_with_another_body_is_a_422_naming_the_key(alice_api, path, body):
    key = "retry-1"
    assert post(alice_api, path, body, key).status_code == 201
    other = {name: value + " again" if isinstance(value, str) else value for name, value in body.items()}
    response = post(alice_api, path, other, key)
    assert response.status_code == 422, response.content
    assert "Idempotency-Key 'retry-1' was already used with another request body" in response.json()["detail"]
    assert Task.objects.count() == 1


def test_the_same_key_on_another_endpoint_is_a_422(alice_api):
    assert post(alice_api, "/api/tasks", {"title": "Pay rent"}, "k1").status_code == 201
    response = post(alice_api, "/api/tasks/quick", {"text": "Pay rent"}, "k1")
    assert response.status_code == 422
    assert "for POST /api/tasks" in response.json()["detail"]


def test_the_same_body_spelled_differently_is_the_same_request(alice_api):
    first = alice_api.post("/api/tasks", '{"title": "Pay rent", "tags": ["home"]}', content_type="application/json",
                           headers={"Idempotency-Key": "spelling"})
    again = alice_api.post("/api/tasks", '{ "tags":["home"],"title":"Pay rent" }', content_type="application/json",
                           headers={"Idempotency-Key": "spelling"})
    assert again.status_code == 201 and again.json()["id"] == first.json()["id"]


def test_keys_are_per_user(alice_api, bob_api, alice, bob):
    body = {"title": "Same words"}
    mine = post(alice_api, "/api/tasks", body, "shared-key").json()
    theirs = post(bob_api, "/api/tasks", {"title": "Other words"}, "shared-key")
    assert theirs.status_code == 201, "bob's key is his own, whatever alice sent with hers"
    assert theirs.json()["id"] != mine["id"]
    assert Task.objects.filter(user=alice).count() == 1 and Task.objects.filter(user=bob).count() == 1
    assert not theirs.has_header("Idempotent-Replayed")


def test_a_failed_write_stores_nothing_and_its_retry_runs_again(alice_api):
    refused = post(alice_api, "/api/tasks", {"title": "Bad", "recurrence": "FREQ=SOMETIMES"}, "fails")
    assert refused.status_code == 422
    assert not IdempotencyKey.objects.exists()
    assert post(alice_api, "/api/tasks", {"title": "Bad", "recurrence": "FREQ=SOMETIMES"}, "fails").status_code == 422
    fixed = post(alice_api, "/api/tasks/quick", {"text": "Now a good one"}, "fails")
    assert fixed.status_code == 201


@pytest.mark.parametrize("key, problem", [
    ("", "Idempotency-Key"),
    ("has space", "Idempotency-Key"),
    ("ünïcode", "Idempotency-Key"),
    ("k" * 256, "Idempotency-Key"),
    ("semi;colon", "Idempotency-Key"),
])
def test_a_malformed_key_is_a_422_naming_the_header(alice_api, key, problem):
    response = post(alice_api, "/api/tasks", {"title": "x"}, key)
    assert response.status_code in (400, 422), response.content
    assert problem in json.dumps(response.json()["detail"])
    assert not Task.objects.exists()


def test_a_key_in_quotes_is_the_same_key(alice_api):
    first = post(alice_api, "/api/tasks", {"title": "Quoted"}, '"8e03978e-40d5-43e8-bc93-6894a57f9324"')
    again = post(alice_api, "/api/tasks", {"title": "Quoted"}, "8e03978e-40d5-43e8-bc93-6894a57f9324")
    assert again.json()["id"] == first.json()["id"] and again["Idempotent-Replayed"] == "true"


def test_a_key_past_its_lifetime_is_a_new_request_and_the_retention_job_prunes_it(alice_api, alice, settings):
    settings.IDEMPOTENCY_KEY_TTL_HOURS = 24
    first = post(alice_api, "/api/tasks", {"title": "Old"}, "old-key").json()
    IdempotencyKey.objects.filter(key="old-key").update(created_at=timezone.now() - timedelta(hours=25))
    again = post(alice_api, "/api/tasks", {"title": "Old, but another body is fine now"}, "old-key")
    assert again.status_code == 201 and again.json()["id"] != first["id"]
    post(alice_api, "/api/tasks", {"title": "Recent"}, "recent-key")
    IdempotencyKey.objects.filter(key="old-key").update(created_at=timezone.now() - timedelta(hours=25))
    assert services.retention_prune()["idempotency_keys"] == 1
    assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["recent-key"]


# --------------------------------------------------------------------------- concurrent duplicates


def send_all_at_once(user, request, count: int):
    """`count` threads each send `request(client)` as `user`; each is held inside PostgreSQL (its key
    row's foreign key waits for the user row, locked here) until all are in, then they race for the key."""
    token = api_token_issue(user=user)
    answers = [None] * count

    def send(index):
        try:
            client = Client(headers={"Authorization": f"Bearer {token}"})
            answers[index] = request(client)
        except Exception as exc:  # reported by the caller's assertions
            answers[index] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=send, args=(index,)) for index in range(count)]
    with transaction.atomic():
        get_user_model().objects.select_for_update().get(pk=user.pk)
        for thread in threads:
            thread.start()
        wait_until_backends_wait_for_locks(count)
    for thread in threads:
        thread.join(timeout=60)
    return answers


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("path, body", ENDPOINTS)
def test_concurrent_duplicates_with_one_key_create_exactly_one_task(alice, path, body):
    answers = send_all_at_once(alice, lambda client: post(client, path, body, "one-key-eight-requests"), 8)
    failures = [answer for answer in answers if isinstance(answer, Exception) or answer.status_code != 201]
    assert not failures, [getattr(answer, "content", answer) for answer in failures]
    assert Task.objects.filter(user=alice).count() == 1
    ids = {task_id(path, answer) for answer in answers}
    assert ids == {Task.objects.get(user=alice).pk}
    assert sum(answer.has_header("Idempotent-Replayed") for answer in answers) == 7
    assert IdempotencyKey.objects.filter(user=alice).count() == 1


def test_operators_see_the_keys_read_only_in_the_admin(client, alice_api):
    post(alice_api, "/api/tasks", {"title": "Seen by an operator"}, "admin-visible-key")
    operator = get_user_model().objects.create_superuser("operator", "op@example.com", "op-Password-1")
    client.force_login(operator)
    listing = client.get("/admin/tasks_app/idempotencykey/?q=admin-visible-key")
    assert listing.status_code == 200 and b"admin-visible-key" in listing.content
    row = IdempotencyKey.objects.get(key="admin-visible-key")
    assert client.get("/admin/tasks_app/idempotencykey/add/").status_code == 403
    client.post(f"/admin/tasks_app/idempotencykey/{row.pk}/change/", {"key": "changed"})
    assert IdempotencyKey.objects.get(pk=row.pk).key == "admin-visible-key"
