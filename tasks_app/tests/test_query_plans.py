"""Every list query reaches one user's tasks through an index, never a sequential scan of all tasks.

The table is seeded with a few thousand tasks of many users and ANALYZEd, then the SQL the
selector really sends is EXPLAINed."""

import random
import re
from datetime import datetime, timedelta, timezone

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tasks_app.models import Tag, Task
from tasks_app.selectors import task_list

pytestmark = pytest.mark.django_db

USERS, TASKS_PER_USER = 40, 100
WORDS = ("report budget meeting call email invoice garden car dentist plan review deploy fix write read "
         "buy pay book clean order send check update prepare schedule").split()
T0 = datetime(2027, 1, 1, tzinfo=timezone.utc)
SEQ_SCAN_ON_TASKS = re.compile(r"Seq Scan on tasks_app_task\b(?!_)")


@pytest.fixture
def seeded(django_user_model):
    rng = random.Random(1)
    users = django_user_model.objects.bulk_create(
        [django_user_model(username=f"user{n}") for n in range(USERS)])
    tasks = Task.objects.bulk_create([
        Task(user=user, title=" ".join(rng.sample(WORDS, 3)), description=" ".join(rng.sample(WORDS, 5)),
             priority=rng.choice(["P1", "P2", "P3", "P4"]), completed=(done := rng.random() < 0.3),
             completed_at=T0 if done else None,
             due_at=T0 + timedelta(hours=rng.randrange(-500, 500)) if rng.random() < 0.6 else None)
        for user in users for _ in range(TASKS_PER_USER)
    ])
    tags = {user.pk: Tag.objects.bulk_create([Tag(user=user, name=name) for name in ("work", "home", "urgent")])
            for user in users}
    Link = Task.tags.through
    Link.objects.bulk_create([Link(task_id=task.pk, tag_id=tag.pk) for task in tasks
                              for tag in rng.sample(tags[task.user_id], rng.randrange(0, 3))])
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE tasks_app_task, tasks_app_tag, tasks_app_task_tags")
    return users[7]


def plans(run) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        run()
    texts = []
    with connection.cursor() as cursor:
        for query in captured.captured_queries:
            if "tasks_app_task" not in query["sql"] or not query["sql"].startswith("SELECT"):
                continue
            cursor.execute("EXPLAIN " + query["sql"])
            texts.append("\n".join(row[0] for row in cursor.fetchall()))
    assert texts
    return texts


CASES = {
    "default list": {},
    "open tasks": {"completed": False},
    "q": {"q": "report"},
    "q phrase and exclusion": {"q": '"budget meeting" -dentist'},
    "q + filters + sort": {"q": "report or invoice", "priorities": ["P1", "P2"], "completed": False,
                           "sort": "due_at"},
    "priority": {"priorities": ["P1"]},
    "tags": {"tags": ["work", "urgent"]},
    "due range": {"due_after": T0, "due_before": T0 + timedelta(days=7)},
    "overdue": {"overdue": True},
    "has no due date": {"has_due": False},
    **{f"sort {sort}": {"sort": sort} for sort in ("created_at", "due_at", "-due_at", "priority", "-priority",
                                                    "title")},
}


@pytest.mark.parametrize("kwargs", CASES.values(), ids=CASES.keys())
def test_list_queries_use_an_index_for_one_users_tasks(seeded, kwargs):
    def first_two_pages():
        page = task_list(user=seeded, limit=5, **kwargs)
        assert page.next_cursor, "the seed should give every case a second page"
        task_list(user=seeded, limit=5, cursor=page.next_cursor, **kwargs)

    for plan in plans(first_two_pages):
        assert not SEQ_SCAN_ON_TASKS.search(plan), plan
