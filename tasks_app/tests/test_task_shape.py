"""A task has one public shape: the REST API shows it, events carry it plus the links between rows."""

import json
from datetime import UTC, datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from ninja.responses import NinjaJSONEncoder

from tasks_app import events, selectors, services
from tasks_app.models import OutboxEvent
from tasks_app.schemas import TaskOut, task_out_json, task_out_values

pytestmark = pytest.mark.django_db


def test_the_api_and_the_events_show_the_same_fields_with_the_same_values(alice, alice_api):
    task = services.task_create(user=alice, title="Plan", tags=["work", "Home"], recurrence="weekly")
    shown = alice_api.get(f"/api/tasks/{task.pk}").json()
    carried = OutboxEvent.objects.get(task_id=task.pk, type=events.TASK_CREATED).payload["data"]["task"]
    snapshot = events.task_snapshot(task)
    assert snapshot == carried  # (the stored payload is jsonb, which keeps no key order)
    assert list(shown) == [name for name in snapshot if name not in ("user_id", "previous_occurrence_id")]
    for name, value in shown.items():
        if not name.endswith("_at"):  # date-times: the API writes Z, events +00:00
            assert carried[name] == value, name
    assert carried["tags"] == ["Home", "work"]


def _tasks_of_every_shape(user) -> list:
    """Fresh from the services (date-times as the caller gave them, in the user's zone) and read back."""
    services.profile_update(user=user, timezone="Europe/Berlin")
    made = [
        services.task_create(user=user, title="Bare"),
        services.task_create(user=user, title="Full", description="Notes", priority="P1", tags=["b", "A"],
                             due_at=datetime(2031, 3, 30, 9, 15, 7, 123456),  # naive: read in Berlin
                             recurrence="FREQ=MONTHLY;BYDAY=1MO", reminder_minutes_before=30),
        services.task_create(user=user, title="From completion", due_at=datetime(2031, 1, 1, 8, tzinfo=UTC),
                             recurrence="FREQ=WEEKLY", recurrence_from_completion=True),
    ]
    made.append(services.task_complete(task=services.task_create(user=user, title="Done")))
    listed = selectors.task_list(user=user, limit=10).items
    rows = selectors.task_list(user=user, limit=10, rows=True).items
    return made + listed + rows + [selectors.task_get(user=user, task_id=task.pk) for task in made]


def test_task_out_values_are_what_TaskOut_makes_of_the_task(alice):  # noqa: N802 - the schema's name
    """The REST API and the MCP tools build the task's shape straight off the task (schemas.task_out_values),
    not through ninja's from_orm: the two must agree on every field, value, type and order."""
    for task in _tasks_of_every_shape(alice):
        validated = TaskOut.from_orm(task).model_dump()
        values = task_out_values(task)
        assert list(values) == list(validated)
        assert values == validated, task.title
        assert [type(value) for value in values.values()] == [type(value) for value in validated.values()]
        as_ninja_sends_it = json.loads(json.dumps(validated, cls=NinjaJSONEncoder))
        assert task_out_json(task) == as_ninja_sends_it, task.title


def test_the_list_and_a_single_task_send_the_same_json_as_the_schema_would(alice, alice_api):
    tasks = _tasks_of_every_shape(alice)
    page = alice_api.get("/api/tasks?limit=50").json()
    by_id = {item["id"]: item for item in page["items"]}
    assert page["count"] == len(by_id) == 4 and page["next_cursor"] is None
    for task in tasks:
        expected = json.loads(json.dumps(TaskOut.from_orm(selectors.task_get(user=alice, task_id=task.pk))
                                         .model_dump(), cls=NinjaJSONEncoder))
        assert by_id[task.pk] == expected
        single = alice_api.get(f"/api/tasks/{task.pk}")
        assert single.json() == expected and single["Content-Type"] == "application/json; charset=utf-8"
    assert by_id[tasks[1].pk]["due_at"] == "2031-03-30T07:15:07.123Z"  # Berlin summer time, to the millisecond


@pytest.mark.parametrize("arguments", [
    {}, *({"sort": sort} for sort in selectors.SORTS if sort != "relevance"),
    {"q": "plan"}, {"q": "pla", "sort": "due_at"}, {"tags": ["work"]}, {"completed": False, "sort": "-priority"},
], ids=repr)
def test_a_page_of_rows_is_the_page_of_tasks_the_api_would_show(alice, arguments):
    """task_list(rows=True), which the REST list, the MCP tools and the chat page's panel read, lists what
    task_list lists, page after page, in the same shape and with the same cursors and count."""
    _tasks_of_every_shape(alice)
    for n in range(5):
        services.task_create(user=alice, title=f"Plan {n}", tags=["work"] if n % 2 else [], priority=f"P{n % 4 + 1}",
                             due_at=datetime(2031, 5, 1 + n, tzinfo=UTC) if n % 3 else None)
    cursors = {False: None, True: None}
    for _page in range(10):
        tasks, rows = (selectors.task_list(user=alice, limit=2, cursor=cursors[as_rows], rows=as_rows, **arguments)
                       for as_rows in (False, True))
        assert all(isinstance(row, selectors.TaskRow) for row in rows.items)
        assert [task_out_json(row) for row in rows.items] == [task_out_json(task) for task in tasks.items]
        assert [row.pk for row in rows.items] == [task.pk for task in tasks.items]
        assert (rows.next_cursor, rows.count) == (tasks.next_cursor, tasks.count)
        if tasks.next_cursor is None:
            break
        cursors = {False: tasks.next_cursor, True: rows.next_cursor}
    assert tasks.next_cursor is None, "the pages should end"


def test_a_write_lists_the_tags_it_wrote_without_reading_them_back(alice, alice_api):
    """A create or an update that sets tags shows them (response and event) from the tags it wrote: once the
    links are written, no query reads them back (one statement, ~1 ms of the web's CPU, per such write)."""
    services.task_create(user=alice, title="Existing", tags=["work"])
    with CaptureQueriesContext(connection) as create_queries:
        created = alice_api.post("/api/tasks", {"title": "Plan", "tags": ["Work", "home"]}, content_type="application/json")
    assert created.status_code == 201 and created.json()["tags"] == ["home", "work"]  # the stored spelling
    with CaptureQueriesContext(connection) as update_queries:
        updated = alice_api.patch(f"/api/tasks/{created.json()['id']}", {"tags": ["errand"]},
                                  content_type="application/json")
    assert updated.status_code == 200 and updated.json()["tags"] == ["errand"]
    for queries in (create_queries, update_queries):
        statements = [query["sql"] for query in queries.captured_queries]
        link_writes = [n for n, sql in enumerate(statements)
                       if sql.startswith("INSERT INTO \"tasks_app_task_tags\"")]
        assert link_writes, "the links should have been written"
        read_back = [sql for sql in statements[link_writes[-1]:] if sql.startswith("SELECT") and "tasks_app_task_tags" in sql]
        assert read_back == []
    carried = [event.payload["data"]["task"]["tags"]
               for event in OutboxEvent.objects.filter(task_id=created.json()["id"]).order_by("id")]
    assert carried == [["home", "work"], ["errand"]]
    assert [tag.name for tag in selectors.task_get(user=alice, task_id=created.json()["id"]).tags.all()] == ["errand"]


def test_an_update_does_not_read_its_user_again(alice, alice_api):
    task = services.task_create(user=alice, title="Plan")
    with CaptureQueriesContext(connection) as queries:
        updated = alice_api.patch(f"/api/tasks/{task.pk}", {"tags": ["work"], "due_at": "2031-01-02T09:00:00"},
                                  content_type="application/json")
    assert updated.status_code == 200 and updated.json()["due_at"] == "2031-01-02T09:00:00Z"  # read in alice's zone
    assert [query["sql"] for query in queries.captured_queries if query["sql"].startswith('SELECT "auth_user"')] == []


@pytest.mark.parametrize("method, path, body", [
    ("patch", "/api/tasks/{id}", {"priority": "P1"}),
    ("post", "/api/tasks/{id}/complete", None),
    ("post", "/api/tasks/{id}/reopen", None),
    ("delete", "/api/tasks/{id}", None),
], ids=["update", "complete", "reopen", "delete"])
def test_a_write_reads_the_tasks_tags_only_under_its_lock(alice, alice_api, method, path, body):
    """The view checks that the task is the caller's without its tags; the service reads them with the row it
    locks (reading them before as well was one more query per write)."""
    task = services.task_create(user=alice, title="Plan", tags=["work"])
    with CaptureQueriesContext(connection) as queries:
        kwargs = {"data": body, "content_type": "application/json"} if body else {}
        response = getattr(alice_api, method)(path.format(id=task.pk), **kwargs)
    assert response.status_code in (200, 204), response.content
    statements = [query["sql"] for query in queries.captured_queries]
    locked = next(n for n, sql in enumerate(statements) if sql.startswith("SELECT") and "FOR UPDATE" in sql)
    assert [sql for sql in statements[:locked] if "tasks_app_task_tags" in sql] == []
