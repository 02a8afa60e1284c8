"""Bad list parameters are a 422 naming the parameter, never a 500; the selector raises the same for
other callers (the chat tools)."""

import base64
import json

import pytest
from django.core.exceptions import ValidationError

from tasks_app.selectors import task_list
from tasks_app.services import task_create

pytestmark = pytest.mark.django_db


def error_fields(response):
    assert response.status_code == 422, (response.status_code, response.content)
    return {error["field"].split(".")[0] for error in response.json()["errors"] if error["field"]}


def cursor_of(payload) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "params, field",
    [
        ({"sort": "newest"}, "sort"),
        ({"sort": "relevance"}, "sort"),  # relevance without q
        ({"priority": "P9"}, "priority"),
        ({"priority": ["P1", "urgent"]}, "priority"),
        ({"limit": 0}, "limit"),
        ({"limit": 201}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"completed": "maybe"}, "completed"),
        ({"overdue": "soon"}, "overdue"),
        ({"has_due": "2"}, "has_due"),
        ({"due_before": "tomorrow"}, "due_before"),
        ({"due_after": "2027-02-30T00:00:00Z"}, "due_after"),
        ({"q": "x" * 501}, "q"),
        ({"q": "nul\x00byte"}, "q"),
        ({"tag": ""}, "tag"),
        ({"tag": "#"}, "tag"),
        ({"tag": "a\x00b"}, "tag"),
        ({"cursor": "not a cursor"}, "cursor"),
        ({"cursor": "%%%"}, "cursor"),
        ({"cursor": "x" * 2000}, "cursor"),
        ({"cursor": base64.urlsafe_b64encode(b"\xff\xfe").decode()}, "cursor"),
        ({"cursor": cursor_of({"sort": "-created_at"})}, "cursor"),
        ({"cursor": cursor_of(["-created_at", "2027-01-01T00:00:00+00:00"])}, "cursor"),
        ({"cursor": cursor_of(["-created_at", "yesterday", 5])}, "cursor"),
        ({"cursor": cursor_of(["-created_at", "2027-01-01T00:00:00", 5])}, "cursor"),  # naive
        ({"cursor": cursor_of(["-created_at", "2027-01-01T00:00:00+00:00", "5"])}, "cursor"),
        ({"cursor": cursor_of(["-created_at", "2027-01-01T00:00:00+00:00", 2**70])}, "cursor"),
        ({"cursor": cursor_of(["-created_at", None, 5])}, "cursor"),
        ({"cursor": cursor_of(["due_at", "2027-01-01T00:00:00+00:00", 5]), "sort": "title"}, "cursor"),
        ({"cursor": cursor_of(["priority", "P7", 5]), "sort": "priority"}, "cursor"),
        ({"cursor": cursor_of(["title", 12, 5]), "sort": "title"}, "cursor"),
        ({"cursor": cursor_of(["title", "a\x00", 5]), "sort": "title"}, "cursor"),
        ({"cursor": cursor_of(["relevance", "high", 5]), "sort": "relevance", "q": "x"}, "cursor"),
    ],
)
def test_bad_list_parameter_is_422_naming_it(alice_api, params, field):
    assert field in error_fields(alice_api.get("/api/tasks", params))


def test_a_cursor_from_another_sort_is_refused(alice, alice_api):
    for n in range(3):
        task_create(user=alice, title=f"t{n}")
    cursor = alice_api.get("/api/tasks", {"limit": 1, "sort": "title"}).json()["next_cursor"]
    assert "cursor" in error_fields(alice_api.get("/api/tasks", {"limit": 1, "sort": "due_at", "cursor": cursor}))
    assert alice_api.get("/api/tasks", {"limit": 1, "sort": "title", "cursor": cursor}).status_code == 200


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"sort": "sideways"}, "sort"),
        ({"priorities": ["P0"]}, "priority"),
        ({"priorities": 1}, "priority"),
        ({"tags": [None]}, "tag"),
        ({"completed": "yes"}, "completed"),
        ({"due_before": "2027-01-01"}, "due_before"),
        ({"limit": 0}, "limit"),
        ({"limit": True}, "limit"),
        ({"q": 42}, "q"),
        ({"cursor": "garbage"}, "cursor"),
    ],
)
def test_selector_raises_validation_error_naming_the_parameter(alice, kwargs, field):
    with pytest.raises(ValidationError) as raised:
        task_list(user=alice, **kwargs)
    assert set(raised.value.message_dict) == {field}


def test_selector_accepts_a_single_string_where_a_list_is_expected(alice):
    task_create(user=alice, title="x", priority="P1", tags=["home"])
    assert task_list(user=alice, priorities="P1", tags="home").count == 1
