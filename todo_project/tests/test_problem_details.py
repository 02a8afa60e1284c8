"""Every error of the REST API has one shape: RFC 9457 problem details, application/problem+json,
with a stable `type` per kind of problem, its `title`, the `status`, a `detail` naming what went
wrong, and for a 422 an `errors` entry per bad value."""

import json

import pytest
from django.test import Client

from tasks_app import services
from todo_project.problems import PROBLEM_KINDS

pytestmark = pytest.mark.django_db

KIND_TITLES = {kind.type: kind.title for kind in PROBLEM_KINDS}


def send_json(client, method, path, body, **headers):
    return getattr(client, method)(path, json.dumps(body) if not isinstance(body, str) else body,
                                   content_type="application/json", headers=headers)


def assert_problem(response, status: int, problem_type: str) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"] == problem_type
    assert problem["title"] == KIND_TITLES[problem_type]
    assert problem["status"] == status
    assert isinstance(problem["detail"], str) and problem["detail"]
    assert set(problem) <= {"type", "title", "status", "detail", "errors"}
    return problem


def test_a_domain_validation_error_is_a_422_problem_naming_each_field(alice_api):
    problem = assert_problem(send_json(alice_api, "post", "/api/tasks", {"title": "   ", "priority": "P9"}),
                             422, "/problems/validation")
    fields = {error["field"]: error for error in problem["errors"]}
    assert fields["title"]["location"] == "body" and fields["title"]["message"]
    assert "title: " in problem["detail"]


def test_a_schema_validation_error_is_the_same_422_shape(alice_api):
    problem = assert_problem(send_json(alice_api, "post", "/api/tasks", {"tags": "not a list"}),
                             422, "/problems/validation")
    assert {(error["location"], error["field"]) for error in problem["errors"]} >= {("body", "title"),
                                                                                     ("body", "tags")}


def test_each_bad_value_has_its_entry_and_its_words_in_detail(alice_api):
    problem = assert_problem(send_json(alice_api, "post", "/api/tasks", {"title": "", "tags": ["a\u0000"]}),
                             422, "/problems/validation")
    assert problem["errors"] == [
        {"location": "body", "field": "title", "message": "String should have at least 1 character"},
        {"location": "body", "field": "tags.0", "message": "must not contain NUL characters"}]
    assert problem["detail"] == "title: String should have at least 1 character; tags.0: must not contain NUL characters"


@pytest.mark.parametrize("path, field", [
    ("/api/tasks?limit=abc", "limit"),
    ("/api/tasks?tag=a%00b", "tag.0"),
    ("/api/tasks?due_before=2027-01-01T00:00:00-23:00", "due_before"),
    ("/api/chat/conversations?limit=0", "limit"),
])
def test_a_bad_query_parameter_is_named_in_the_problem(alice_api, path, field):
    problem = assert_problem(alice_api.get(path), 422, "/problems/validation")
    assert ("query", field) in {(error["location"], error["field"]) for error in problem["errors"]}, problem


def test_an_unreadable_body_is_a_400_problem(alice_api):
    assert_problem(send_json(alice_api, "post", "/api/tasks", "{not json"), 400, "/problems/malformed-request")


def test_no_credentials_is_a_401_problem_that_names_the_scheme():
    response = Client().get("/api/tasks")
    assert assert_problem(response, 401, "/problems/unauthenticated")["detail"] == "Unauthorized"
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_a_wrong_password_is_a_401_problem(alice):
    response = send_json(Client(), "post", "/api/auth/token", {"username": "alice", "password": "wrong"})
    assert assert_problem(response, 401, "/problems/unauthenticated")["detail"] == "wrong username or password"


def test_closed_sign_up_is_a_403_problem(settings):
    settings.ALLOW_SIGNUP = False
    response = send_json(Client(), "post", "/api/auth/register", {"username": "carol", "password": "x" * 12})
    assert assert_problem(response, 403, "/problems/forbidden")["detail"] == "sign-up is turned off on this server"


def test_a_session_write_without_its_csrf_token_is_a_403_problem(alice):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(alice)
    assert_problem(send_json(browser, "post", "/api/tasks", {"title": "x"}), 403, "/problems/forbidden")


def test_a_quota_is_a_403_problem_of_its_own_kind(alice, alice_api, settings):
    settings.QUOTA_TASKS_PER_USER = 1
    services.task_create(user=alice, title="the one")
    problem = assert_problem(send_json(alice_api, "post", "/api/tasks", {"title": "two"}), 403,
                             "/problems/quota-exceeded")
    assert problem["detail"].startswith("quota exceeded: at most 1 tasks")


def test_another_users_task_is_a_404_problem(bob, alice_api):
    task = services.task_create(user=bob, title="Bob's")
    assert assert_problem(alice_api.get(f"/api/tasks/{task.pk}"), 404, "/problems/not-found")["detail"] == \
        "task not found"


def test_an_unknown_api_route_is_a_404_problem(alice_api):
    problem = assert_problem(alice_api.get("/api/no-such-thing"), 404, "/problems/not-found")
    assert problem["detail"] == "no API endpoint at /api/no-such-thing"


def test_an_unsupported_method_is_a_405_problem_keeping_allow(alice_api):
    response = alice_api.put("/api/tasks", "{}", content_type="application/json")
    assert assert_problem(response, 405, "/problems/method-not-allowed")
    assert set(response["Allow"].replace(" ", "").split(",")) == {"GET", "POST"}


def test_a_taken_username_is_a_409_problem(alice, settings):
    settings.ALLOW_SIGNUP = True
    response = send_json(Client(), "post", "/api/auth/register", {"username": "alice", "password": "x" * 12})
    assert_problem(response, 409, "/problems/conflict")


def test_a_stale_if_match_is_a_412_problem(alice, alice_api):
    task = services.task_create(user=alice, title="v1")
    response = send_json(alice_api, "patch", f"/api/tasks/{task.pk}", {"title": "v2"}, **{"If-Match": '"stale"'})
    assert "has changed since you read it" in assert_problem(response, 412, "/problems/precondition-failed")["detail"]


def test_a_body_over_the_limit_is_a_413_problem_under_any_server(alice_api, settings):
    # Under uvicorn todo_project.body_limit answers first (test_request_body_limit); this is Django's own check.
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100
    response = send_json(alice_api, "post", "/api/tasks", {"title": "x" * 200})
    assert_problem(response, 413, "/problems/body-too-large")


def test_a_rate_limit_is_a_429_problem_keeping_retry_after(alice, settings):
    settings.THROTTLE_LOGIN_FAILURES_PER_USERNAME = (1, 60)
    send_json(Client(), "post", "/api/auth/token", {"username": "alice", "password": "wrong"})
    response = send_json(Client(), "post", "/api/auth/token", {"username": "alice", "password": "wrong"})
    assert_problem(response, 429, "/problems/rate-limited")
    assert 0 < int(response["Retry-After"]) <= 60


def test_problem_types_are_documented_in_the_openapi_schema(client):
    document = json.loads(client.get("/api/openapi.json").content)
    problem = document["components"]["schemas"]["ProblemDetails"]
    assert set(problem["properties"]["type"]["enum"]) == {*KIND_TITLES, "about:blank"}
    for kind_type in KIND_TITLES:
        assert kind_type in problem["properties"]["type"]["description"]


def test_operation_ids_are_readable_unique_and_named_by_each_endpoint(client):
    from todo_project.api import api

    document = json.loads(client.get("/api/openapi.json").content)
    ids = [operation["operationId"] for item in document["paths"].values() for operation in item.values()]
    assert len(ids) == len(set(ids))
    for operation_id in ids:
        assert operation_id.replace("_", "").isalpha() and operation_id.islower(), operation_id
        assert "tasks_app" not in operation_id and "api_" not in operation_id, operation_id
    named = [operation.operation_id for router in api._routers for path_view in router[1].path_operations.values()
             for operation in path_view.operations]
    assert named and all(named), "every endpoint names its operation_id (a stable name for generated clients)"
