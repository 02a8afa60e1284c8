"""Keyset pagination: `limit`, `next_cursor`, `count`; no task skipped or repeated, even during inserts."""

import random
from datetime import datetime, timedelta, timezone

import pytest

from tasks_app.events import task_tag_names
from tasks_app.models import Task
from tasks_app.selectors import SORTS, task_list
from tasks_app.services import task_create

pytestmark = pytest.mark.django_db

T0 = datetime(2027, 5, 1, 9, 0, tzinfo=timezone.utc)


@pytest.fixture
def tasks(alice):
    """25 tasks with many ties in every sort key (titles, priorities, due dates, ranks, even created_at)."""
    rng = random.Random(3)
    made = Task.objects.bulk_create([
        Task(user=alice, title=f"{rng.choice(['Alpha', 'alpha', 'Beta'])} report {n % 3}",
             description=rng.choice(["", "report", "report report"]), priority=rng.choice(["P1", "P2", "P3", "P4"]),
             due_at=rng.choice([None, T0, T0 + timedelta(hours=1), T0 + timedelta(days=1)]))
        for n in range(25)
    ])
    Task.objects.filter(pk__in=[t.pk for t in made[5:12]]).update(created_at=T0)
    return made


def walk(client, limit, **params):
    """Follow next_cursor to the end; return the ids of every page and the counts reported."""
    pages, counts, cursor = [], set(), None
    while True:
        response = client.get("/api/tasks", {**params, "limit": limit, **({"cursor": cursor} if cursor else {})})
        assert response.status_code == 200, response.content
        body = response.json()
        pages.append([item["id"] for item in body["items"]])
        counts.add(body["count"])
        cursor = body["next_cursor"]
        if cursor is None:
            return pages, counts
        assert len(pages) < 100, "cursor does not advance"


@pytest.mark.parametrize("sort", SORTS)
def test_following_cursors_returns_the_same_order_as_one_big_page(alice_api, tasks, sort):
    params = {"sort": sort, "q": "report"}
    whole = alice_api.get("/api/tasks", {**params, "limit": 200}).json()
    assert whole["next_cursor"] is None and whole["count"] == 25
    pages, counts = walk(alice_api, 4, **params)
    assert [task_id for page in pages for task_id in page] == [item["id"] for item in whole["items"]]
    assert [len(page) for page in pages] == [4] * 6 + [1]
    assert counts == {25}


def test_an_exact_multiple_of_limit_ends_without_an_empty_page(alice, alice_api):
    for n in range(4):
        task_create(user=alice, title=f"t{n}")
    pages, _ = walk(alice_api, 2)
    assert [len(page) for page in pages] == [2, 2]


def test_limit_defaults_to_50_and_accepts_1_to_200(alice, alice_api):
    Task.objects.bulk_create([Task(user=alice, title=f"t{n}") for n in range(60)])
    assert len(alice_api.get("/api/tasks").json()["items"]) == 50
    assert len(alice_api.get("/api/tasks", {"limit": 1}).json()["items"]) == 1
    assert len(alice_api.get("/api/tasks", {"limit": 200}).json()["items"]) == 60


@pytest.mark.parametrize("sort", SORTS)
def test_tasks_added_while_paging_never_cause_skips_or_repeats(alice, alice_api, tasks, sort):
    rng = random.Random(sort)
    original = {t.pk for t in tasks}
    seen, cursor, pages = [], None, 0
    while True:
        params = {"sort": sort, "q": "report", "limit": 3, **({"cursor": cursor} if cursor else {})}
        body = alice_api.get("/api/tasks", params).json()
        seen += [item["id"] for item in body["items"]]
        cursor = body["next_cursor"]
        pages += 1
        if cursor is None:
            break
        # New tasks land before, among and after those already seen (while the first pages are read:
        # in an ascending created_at order every new task is still ahead).
        for _ in range(2 if pages <= 4 else 0):
            task_create(user=alice, title=rng.choice(["Alpha report", "beta report", "Zulu report report"]),
                        priority=rng.choice(["P1", "P4"]),
                        due_at=rng.choice([None, T0, T0 + timedelta(minutes=30), T0 + timedelta(days=9)]))
    assert len(seen) == len(set(seen)), "a task was repeated"
    assert original <= set(seen), "a task that existed from the start was skipped"


def test_the_selector_pages_the_same_way_for_other_callers(alice, tasks):
    first = task_list(user=alice, sort="due_at", limit=10)
    second = task_list(user=alice, sort="due_at", limit=10, cursor=first.next_cursor)
    assert first.count == second.count == 25
    assert not {t.pk for t in first.items} & {t.pk for t in second.items}
    assert [t.due_at for t in first.items + second.items] == sorted(
        (t.due_at for t in first.items + second.items), key=lambda due: (due is None, due))


@pytest.mark.parametrize("size, limit, queries", [(1, 50, 1), (30, 50, 1), (30, 10, 2), (3, 1, 2)])
def test_a_page_costs_the_same_queries_however_many_tasks_it_holds(alice, django_assert_num_queries, size, limit,
                                                                    queries):
    for n in range(size):
        task_create(user=alice, title=f"report {n}", tags=["a", "b"])
    # The page, each row with its tag names (reading them costs nothing more), then the count,
    # unless this first page already holds every match.  No profile read: no naive time to place.
    with django_assert_num_queries(queries):
        page = task_list(user=alice, q="report", limit=limit)
        assert all(task_tag_names(task) == ["a", "b"] for task in page.items)
    assert page.count == size
