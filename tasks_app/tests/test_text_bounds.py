"""Every text a caller sends is bounded, and text PostgreSQL cannot hold (a NUL character, an
unpaired surrogate such as JSON "\\ud800") is a 422 naming the field: never a 500."""

import json
import time

import pytest
from django.core.exceptions import ValidationError

from tasks_app import services
from tasks_app.cleaning import MAX_LIST_ITEMS

pytestmark = pytest.mark.django_db

# As they travel in JSON: the escapes reach Python as a NUL and as a lone surrogate.
BAD_TEXT = ["\\u0000", "\\ud800", "\\udfff"]


def error_fields(response):
    assert response.status_code == 422, (response.status_code, response.content)
    return {error["field"].split(".")[0] for error in response.json()["errors"] if error["field"]}


def send(client, method, path, raw_json):
    return getattr(client, method)(path, raw_json, content_type="application/json")


def refusals(cases) -> list:
    """The (case, status, body) of every case not answered 422 naming its field: [] when all are."""
    wrong = []
    for case, field, response in cases:
        named = response.status_code == 422 and any(
            field == (error["field"] or "").split(".")[0] for error in response.json()["errors"])
        if not named:
            wrong.append((case, response.status_code, response.content[:200]))
    return wrong


CREATE = [('{"title": "a%sb"}', "title"), ('{"title": "ok", "description": "a%sb"}', "description"),
          ('{"title": "ok", "tags": ["work", "a%sb"]}', "tags"), ('{"title": "ok", "recurrence": "FREQ=DAILY%s"}',
                                                                "recurrence"),
          ('{"title": "ok", "priority": "P1%s"}', "priority")]


def test_creating_a_task_with_unstorable_text_is_422_naming_the_field(alice_api):
    assert refusals((template % bad, field, send(alice_api, "post", "/api/tasks", template % bad))
                    for template, field in CREATE for bad in BAD_TEXT) == []
    assert alice_api.get("/api/tasks").json()["count"] == 0


def test_changing_a_task_with_unstorable_text_is_422_naming_the_field(alice_api):
    task = send(alice_api, "post", "/api/tasks", '{"title": "ok", "description": "kept"}').json()
    patches = [('{"title": "a%sb"}', "title"), ('{"description": "a%sb"}', "description"), ('{"tags": ["a%sb"]}', "tags")]
    assert refusals((template % bad, field, send(alice_api, "patch", f"/api/tasks/{task['id']}", template % bad))
                    for template, field in patches for bad in BAD_TEXT) == []
    assert alice_api.get(f"/api/tasks/{task['id']}").json()["description"] == "kept"


def test_renaming_a_tag_to_unstorable_text_is_422_and_a_tag_path_with_a_nul_names_no_tag(alice_api):
    send(alice_api, "post", "/api/tasks", '{"title": "ok", "tags": ["work"]}')
    body = '{"name": "a%sb"}'
    assert refusals((bad, "name", send(alice_api, "patch", "/api/tags/work", body % bad)) for bad in BAD_TEXT) == []
    assert send(alice_api, "patch", "/api/tags/wo%00rk", '{"name": "job"}').status_code == 404
    assert alice_api.delete("/api/tags/wo%00rk").status_code == 404


def test_credentials_with_unstorable_text_are_422_naming_the_field(client):
    body = {"username": "carol", "password": "carol-Password-1"}
    cases = []
    for path in ("/api/auth/register", "/api/auth/token"):
        for field in ("username", "password"):
            for bad in BAD_TEXT:
                raw = json.dumps(body).replace(f'"{body[field]}"', f'"{body[field]}{bad}"')
                cases.append(((path, field, bad), field, send(client, "post", path, raw)))
    assert refusals(cases) == []


def test_the_description_is_bounded_and_the_bound_is_in_the_api_documentation(alice_api, settings, client):
    limit = settings.TASK_DESCRIPTION_MAX_LENGTH
    assert limit == 10_000
    ok = send(alice_api, "post", "/api/tasks", json.dumps({"title": "x", "description": "d" * limit}))
    assert ok.status_code == 201, ok.content
    too_long = send(alice_api, "post", "/api/tasks", json.dumps({"title": "x", "description": "d" * (limit + 1)}))
    assert "description" in error_fields(too_long)
    patched = send(alice_api, "patch", f"/api/tasks/{ok.json()['id']}", json.dumps({"description": "d" * (limit + 1)}))
    assert "description" in error_fields(patched)

    schemas = client.get("/api/openapi.json").json()["components"]["schemas"]
    assert schemas["TaskCreateIn"]["properties"]["description"]["maxLength"] == limit
    assert schemas["TaskCreateIn"]["properties"]["tags"]["maxItems"] == MAX_LIST_ITEMS
    assert schemas["TaskCreateIn"]["properties"]["tags"]["items"]["maxLength"] > 0
    assert schemas["TagRenameIn"]["properties"]["name"]["maxLength"] > 0
    assert schemas["CredentialsIn"]["properties"]["password"]["maxLength"] > 0


def test_a_megabyte_description_is_refused_within_a_second(alice_api):
    body = json.dumps({"title": "big", "description": "d" * 1_100_000})
    started = time.monotonic()
    response = send(alice_api, "post", "/api/tasks", body)
    assert 400 <= response.status_code < 500, response.status_code
    assert time.monotonic() - started < 1
    assert alice_api.get("/api/tasks").json()["count"] == 0


def test_the_service_bounds_the_description_whoever_calls_it(alice, settings):
    settings.TASK_DESCRIPTION_MAX_LENGTH = 20
    with pytest.raises(ValidationError) as refused:
        services.task_create(user=alice, title="x", description="d" * 21)
    assert "description" in refused.value.message_dict
    with pytest.raises(ValidationError) as refused:
        services.task_create(user=alice, title="x", description="a\ud800b")
    assert "surrogate" in refused.value.message_dict["description"][0]


def test_list_parameters_are_bounded_in_size_and_storable(alice_api):
    too_many = [("&".join(["tag=t"] * (MAX_LIST_ITEMS + 1)), "tag"),
                ("&".join(["priority=P1"] * (MAX_LIST_ITEMS + 1)), "priority")]
    with_nul = [(f"{parameter}=a%00b", parameter) for parameter in ("q", "tag", "priority", "sort", "cursor")]
    assert refusals((query, field, alice_api.get(f"/api/tasks?{query}")) for query, field in too_many + with_nul) == []


def test_the_tag_list_of_a_task_is_bounded_before_repeats_are_dropped(alice_api, alice):
    body = json.dumps({"title": "x", "tags": ["t"] * (MAX_LIST_ITEMS + 1)})
    assert "tags" in error_fields(send(alice_api, "post", "/api/tasks", body))
    with pytest.raises(ValidationError) as refused:
        services.task_create(user=alice, title="x", tags=iter(["t"] * 10_000))
    assert "tags" in refused.value.message_dict
