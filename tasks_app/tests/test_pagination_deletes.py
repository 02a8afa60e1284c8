"""Keyset pages while tasks are deleted mid-walk (another tab, the assistant): the walk still ends,
never repeats a task, never shows one after its deletion, and skips none that still exists, even
when the deleted task is the one the cursor was taken from."""

import random
from datetime import datetime, timedelta, timezone

import pytest

from tasks_app.models import Task
from tasks_app.selectors import SORTS
from tasks_app.services import task_delete

pytestmark = pytest.mark.django_db

T0 = datetime(2027, 5, 1, 9, 0, tzinfo=timezone.utc)


@pytest.fixture
def tasks(alice):
    """30 tasks with ties in every sort key."""
    rng = random.Random(7)
    made = Task.objects.bulk_create([
        Task(user=alice, title=f"{rng.choice(['Alpha', 'Beta'])} report {n % 4}",
             description=rng.choice(["", "report"]), priority=rng.choice(["P1", "P2", "P3"]),
             due_at=rng.choice([None, T0, T0 + timedelta(days=1)]))
        for n in range(30)
    ])
    Task.objects.filter(pk__in=[t.pk for t in made[10:20]]).update(created_at=T0)
    return made


@pytest.mark.parametrize("sort", SORTS)
def test_tasks_deleted_while_paging_cause_no_skips_repeats_or_ghosts(alice_api, tasks, sort):
    rng = random.Random(sort)
    seen, deleted, cursor, pages = [], set(), None, 0
    while True:
        params = {"sort": sort, "q": "report", "limit": 4, **({"cursor": cursor} if cursor else {})}
        response = alice_api.get("/api/tasks", params)
        assert response.status_code == 200, response.content
        body = response.json()
        page = [item["id"] for item in body["items"]]
        assert not set(page) & deleted, "a deleted task was shown"
        seen += page
        cursor = body["next_cursor"]
        pages += 1
        if cursor is None:
            break
        assert pages < 50, "the cursor does not advance"
        # The task the cursor was taken from, one already seen and one still ahead.
        unseen = [task.pk for task in tasks if task.pk not in seen and task.pk not in deleted]
        doomed = {page[-1], rng.choice(seen)} | ({rng.choice(unseen)} if unseen else set())
        for task in Task.objects.filter(pk__in=doomed - deleted):
            task_delete(task=task)
        deleted |= doomed
    assert len(seen) == len(set(seen)), "a task was repeated"
    assert {task.pk for task in tasks} - deleted <= set(seen), "a task that was never deleted was skipped"
    assert deleted, "nothing was deleted: the walk tested nothing"
