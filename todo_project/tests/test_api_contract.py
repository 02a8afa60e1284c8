"""Schemathesis over /api/openapi.json: every operation, bounded examples (valid and invalid),
against the real test database and Redis, signed in with a real bearer token.  What must hold:
no 5xx, no status code the document does not declare for the operation, and every response
(errors included: application/problem+json) matches its declared schema and content type.

The app is called in-process through Django's WSGI handler, inside the test's transaction.
"""

from __future__ import annotations

import json

import pytest
import schemathesis
from django.core import signals
from django.core.handlers.wsgi import WSGIHandler
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from chat_app.services import chat_send
from tasks_app import services
from tasks_app.accounts import api_token_create, api_token_issue
from tasks_app.models import Notification, WebhookEndpoint

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance, response_headers_conformance]
# Examples per operation: enough to hit every declared parameter with good and bad values,
# few enough that the whole run stays within a couple of minutes on a small machine.
EXAMPLES_PER_OPERATION = 30

# Loading the document touches no database: safe at collection time.
schema = schemathesis.openapi.from_wsgi("/api/openapi.json", WSGIHandler())


@pytest.fixture
def in_test_transaction(db):
    """The app answers inside the test's transaction: Django's per-request connection clean-up
    is held off while it does, as django.test.Client does."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


@pytest.fixture
def known(alice, bob, in_test_transaction) -> dict[str, list]:
    """Real objects for the path parameters: Alice's (found) and Bob's (a 404 to her)."""
    ids: dict[str, list] = {"task_id": [], "notification_id": [], "conversation_id": [], "token_id": [],
                            "endpoint_id": [], "name": ["home", "Work", "errands"]}
    for user in (alice, bob):
        for n in range(2):
            task = services.task_create(user=user, title=f"Task {n}", tags=["home", "work"][: n + 1],
                                        recurrence="FREQ=WEEKLY" if n else None)
            ids["task_id"].append(task.pk)
        ids["notification_id"].append(Notification.objects.create(user=user, task=task, message="due soon").pk)
        ids["conversation_id"].append(chat_send(user=user, message="list my tasks").conversation_id)
        ids["token_id"].append(api_token_create(user=user, name="spare")[1].pk)
        # Created as stored (the service would resolve the host; the contract run stays offline).
        ids["endpoint_id"].append(WebhookEndpoint.objects.create(user=user, url="https://hooks.example.com/todo",
                                                                 secret="whsec_contract").pk)
    return ids


def aim_at_known_objects(case, known: dict[str, list]) -> None:
    """Random ids almost never exist: half of the generated values (chosen by the value itself,
    so the run stays deterministic) are swapped for ids of real objects."""
    for name, value in list((case.path_parameters or {}).items()):
        if name not in known or isinstance(value, bool):
            continue
        if isinstance(value, int) and value % 2 == 0:
            case.path_parameters[name] = known[name][value // 2 % len(known[name])]
        elif isinstance(value, str) and len(value) % 2 == 0 and name == "name":
            case.path_parameters[name] = known[name][len(value) // 2 % len(known[name])]


@schema.parametrize()
@settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
def test_every_operation_answers_as_documented(case, alice, known):
    aim_at_known_objects(case, known)
    case.call_and_validate(headers={"Authorization": f"Bearer {api_token_issue(user=alice)}"}, checks=CHECKS)


def test_the_document_declares_problem_details_for_every_error(client):
    document = json.loads(client.get("/api/openapi.json").content)
    problem = document["components"]["schemas"]["ProblemDetails"]
    for path, item in document["paths"].items():
        for method, operation in item.items():
            errors = {status: response for status, response in operation["responses"].items() if int(status) >= 400}
            assert "503" in errors, (method, path)
            for status, response in errors.items():
                assert list(response["content"]) == ["application/problem+json"], (method, path, status)
                # ProblemDetails, or an operation's own with extension members (the import's `report`).
                name = response["content"]["application/problem+json"]["schema"]["$ref"].rsplit("/", 1)[1]
                properties = document["components"]["schemas"][name]["properties"]
                assert properties.items() >= problem["properties"].items(), (method, path, status)
