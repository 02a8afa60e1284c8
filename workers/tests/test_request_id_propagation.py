"""The request id reaches what the request caused: the outbox event written in its transaction, the
Kafka messages the sink sends for it (consumed from the real broker), and the Celery jobs it queued,
whose worker log lines carry it."""

import json
import urllib.request

import pytest
from cloudevents.v1.kafka import KafkaMessage, from_binary, from_structured
from django.conf import settings

from devstack.testing import read_topic, uvicorn_server, wait_until
from tasks_app.models import OutboxEvent


@pytest.mark.django_db
def test_the_request_id_is_in_the_outbox_event_of_the_change(alice_api, event_validator):
    created = alice_api.post("/api/tasks", {"title": "Traced"}, content_type="application/json",
                             HTTP_X_REQUEST_ID="trace-created-1")
    assert created.status_code == 201
    task_id = created.json()["id"]
    event = OutboxEvent.objects.get(task_id=task_id, type="todo.task.created")
    assert event.payload["requestid"] == "trace-created-1"
    event_validator.validate(event.payload)

    updated = alice_api.patch(f"/api/tasks/{task_id}", {"priority": "P1"}, content_type="application/json")
    assert updated.status_code == 200
    event = OutboxEvent.objects.get(task_id=task_id, type="todo.task.updated")
    assert event.payload["requestid"] == updated["X-Request-ID"] != "trace-created-1"


@pytest.mark.django_db
def test_a_bad_request_id_is_replaced_before_it_reaches_the_event(alice_api, event_validator):
    created = alice_api.post("/api/tasks", {"title": "Not traced as sent"}, content_type="application/json",
                             HTTP_X_REQUEST_ID="<script>" + "x" * 80)
    event = OutboxEvent.objects.get(task_id=created.json()["id"], type="todo.task.created")
    assert event.payload["requestid"] == created["X-Request-ID"]
    assert "<" not in event.payload["requestid"]
    event_validator.validate(event.payload)


def _message_for(topic: str, event_id: str, id_field: str):
    got = read_topic(settings.KAFKA_BOOTSTRAP_SERVERS, topic, with_headers=True, idle=0.2,
                     until=lambda messages: any(m[3].get(id_field) == event_id for m in messages))
    return next((m[3], m[4]) for m in got if m[3].get(id_field) == event_id)


def test_the_request_id_reaches_kafka_and_the_worker_jobs_it_queued(celery_processes, alice_api):
    worker = celery_processes.worker({"LOG_FORMAT": "json"})
    created = alice_api.post("/api/tasks", {"title": "Traced to Kafka"}, content_type="application/json",
                             HTTP_X_REQUEST_ID="trace-kafka-42")
    task_id = created.json()["id"]
    wait_until(lambda: OutboxEvent.objects.filter(task_id=task_id, published_at__isnull=False).exists(),
               message="the created event published")
    event_id = str(OutboxEvent.objects.get(task_id=task_id, type="todo.task.created").event_id)

    # task-events, structured mode: an extension attribute in the event itself, no ce_* header.
    value, headers = _message_for("task-events", event_id, "id")
    assert value["requestid"] == "trace-kafka-42"
    assert headers["content-type"] == b"application/cloudevents+json"
    assert not [name for name in headers if name.startswith("ce_")]
    sdk_event = from_structured(KafkaMessage(headers=headers, key=str(task_id).encode(),
                                             value=json.dumps(value).encode()))
    assert sdk_event["requestid"] == "trace-kafka-42"  # what a consumer using the CloudEvents SDK sees
    # task-updates, binary mode: the same attribute as a ce_ header.
    value, headers = _message_for("task-updates", event_id, "event_id")
    assert headers["ce_requestid"] == b"trace-kafka-42"
    sdk_event = from_binary(KafkaMessage(headers=headers, key=str(task_id).encode(),
                                         value=json.dumps(value).encode()))
    assert sdk_event["requestid"] == "trace-kafka-42"

    # The jobs the request queued (sink kick, audit, live push) ran under its id in the worker:
    # Celery's own "succeeded" line for them is logged inside the job.
    def traced_job_lines():
        lines = [json.loads(line) for line in worker.output().splitlines() if line.startswith("{")]
        return [line for line in lines if line.get("request_id") == "trace-kafka-42"] or None

    traced = wait_until(traced_job_lines, timeout=30, message="worker log lines with the request id")
    assert any("succeeded" in line["message"] for line in traced), traced


def test_under_the_real_asgi_server_the_id_reaches_the_event_and_the_json_access_line(
        transactional_db, service_env, tmp_path, alice):
    """uvicorn runs the middleware chain as production does (sync views in a thread): the contextvar
    set by the middleware must still be there when the service writes the event."""
    from tasks_app.accounts import api_token_issue

    token = api_token_issue(user=alice)
    with uvicorn_server({**service_env, "LOG_FORMAT": "json", "INTERNAL_PORT": "0"}, tmp_path) as web:
        request = urllib.request.Request(
            f"{web.url}/api/tasks", data=json.dumps({"title": "Through uvicorn"}).encode(), method="POST",
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json",
                     "X-Request-ID": "asgi-trace-9", "Host": "localhost"})
        with urllib.request.urlopen(request, timeout=30) as response:
            assert response.status == 201
            assert response.headers["X-Request-ID"] == "asgi-trace-9"
            task_id = json.loads(response.read())["id"]

        def access_line():
            lines = [json.loads(line) for line in web.log_path.read_text().splitlines() if line.startswith("{")]
            return next((line for line in lines if line.get("logger") == "todo.access"), None)

        line = wait_until(access_line, timeout=10, message="the access line")
    assert OutboxEvent.objects.get(task_id=task_id, type="todo.task.created").payload["requestid"] == "asgi-trace-9"
    assert (line["request_id"], line["method"], line["path"], line["status"], line["user_id"]) == (
        "asgi-trace-9", "POST", "/api/tasks", 201, alice.pk)
