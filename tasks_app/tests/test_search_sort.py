"""Every `sort` value: the order, ties broken by id, tasks without a due date last."""

from datetime import datetime, timedelta, timezone

import pytest

from tasks_app.models import Task
from tasks_app.services import task_create

pytestmark = pytest.mark.django_db

T0 = datetime(2027, 5, 1, 9, 0, tzinfo=timezone.utc)


def order(client, sort, **params):
    response = client.get("/api/tasks", {"sort": sort, **params})
    assert response.status_code == 200, response.content
    return [item["title"] for item in response.json()["items"]]


@pytest.fixture
def tasks(alice):
    """a..f created in this order; b and e share a due date, c and f share a priority and have none."""
    specs = [("a", "P2", T0 + timedelta(days=2)), ("b", "P1", T0), ("c", "P3", None),
             ("d", "P4", T0 + timedelta(days=1)), ("e", "P1", T0), ("f", "P3", None)]
    return [task_create(user=alice, title=title, priority=priority, due_at=due) for title, priority, due in specs]


def test_default_is_newest_first(alice_api, tasks):
    assert order(alice_api, "") == ["f", "e", "d", "c", "b", "a"]
    assert order(alice_api, "-created_at") == ["f", "e", "d", "c", "b", "a"]


def test_created_at_ascending(alice_api, tasks):
    assert order(alice_api, "created_at") == ["a", "b", "c", "d", "e", "f"]


def test_created_at_ties_are_broken_by_id(alice_api, tasks):
    Task.objects.filter(pk__in=[t.pk for t in tasks]).update(created_at=T0)
    assert order(alice_api, "created_at") == ["a", "b", "c", "d", "e", "f"]
    assert order(alice_api, "-created_at") == ["f", "e", "d", "c", "b", "a"]


def test_due_at_puts_tasks_without_a_due_date_last_in_both_directions(alice_api, tasks):
    assert order(alice_api, "due_at") == ["b", "e", "d", "a", "c", "f"]
    assert order(alice_api, "-due_at") == ["a", "d", "e", "b", "f", "c"]


def test_priority_puts_p1_first(alice_api, tasks):
    assert order(alice_api, "priority") == ["b", "e", "a", "c", "f", "d"]
    assert order(alice_api, "-priority") == ["d", "f", "c", "a", "e", "b"]


def test_title_ignores_case(alice, alice_api):
    for title in ("banana", "Apple", "cherry", "apple"):
        task_create(user=alice, title=title)
    assert order(alice_api, "title") == ["Apple", "apple", "banana", "cherry"]


def test_relevance_ties_are_broken_by_id_newest_first(alice, alice_api):
    for title in ("Report one", "Report two", "Report three"):
        task_create(user=alice, title=title)
    assert order(alice_api, "relevance", q="report") == ["Report three", "Report two", "Report one"]


def test_sort_combines_with_q_and_filters(alice, alice_api, tasks):
    task_create(user=alice, title="report x", priority="P2", due_at=T0 + timedelta(days=5))
    task_create(user=alice, title="report y", priority="P1", due_at=T0 + timedelta(days=9))
    task_create(user=alice, title="report z", priority="P1")
    assert order(alice_api, "-due_at", q="report", priority=["P1", "P2"]) == ["report y", "report x", "report z"]
    assert order(alice_api, "priority", q="report", has_due="true") == ["report y", "report x"]
