"""The seed's demo flow through `python manage.py chat`, with a real Celery worker creating the next occurrence."""

import json
import subprocess
import sys
import time
from datetime import timedelta

from devstack.testing import wait_until
from tasks_app import services
from tasks_app.models import Task

from .conftest import BASE_DIR

DEMO = [
    "Add a P1 task called 'Weekly team standup' tagged 'work' and 'meetings' that recurs weekly with a "
    "30-minute reminder",
    "Show me all P1 tasks tagged 'work' sorted by due date",
    "Mark 'Weekly team standup' as complete",
]


def manage_chat(env, *args) -> dict:
    completed = subprocess.run([sys.executable, "manage.py", "chat", "--user", "alice", "--json", *args],
                               cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=60)
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout)


def wait_for_next_occurrence(task: Task, seconds: float = 20) -> Task:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = Task.objects.filter(previous_occurrence=task).first()
        if found is not None:
            return found
        time.sleep(0.2)
    raise AssertionError(f"no next occurrence of task {task.pk} after {seconds} s")


def test_demo_flow_through_manage_py_chat(chat_worker, child_env, alice):
    added = manage_chat(child_env, DEMO[0])
    standup = Task.objects.get(user=alice, title="Weekly team standup")
    assert (standup.priority, standup.recurrence, standup.reminder_minutes_before) == ("P1", "FREQ=WEEKLY", 30)
    assert sorted(tag.name for tag in standup.tags.all()) == ["meetings", "work"]
    assert added["reply"].startswith("Added “Weekly team standup”")

    shown = manage_chat(child_env, "--continue", DEMO[1])
    assert shown["conversation_id"] == added["conversation_id"]
    assert shown["tool_calls"][0]["arguments"] == {"priorities": ["P1"], "tags": ["work"], "sort": "due_at"}
    assert [item["title"] for item in shown["tool_calls"][0]["result"]["items"]] == ["Weekly team standup"]
    assert "Weekly team standup" in shown["reply"]

    done = manage_chat(child_env, "--continue", DEMO[2])
    assert done["reply"].startswith("Marked “Weekly team standup” as done. It repeats weekly")
    standup.refresh_from_db()
    assert standup.completed

    following = wait_for_next_occurrence(standup)
    anchor = standup.due_at or standup.completed_at  # no due date given: a week after completion
    assert abs(following.due_at - (anchor + timedelta(weeks=1))) < timedelta(minutes=1)
    assert (following.title, following.priority, following.completed, following.reminder_minutes_before) == (
        "Weekly team standup", "P1", False, 30)
    assert sorted(tag.name for tag in following.tags.all()) == ["meetings", "work"]
    # A second job for the same completion would have been queued before this marker's: once the marker's
    # next occurrence exists and the worker holds no job, it has run.  Then still exactly one.
    marker = services.task_complete(task=services.task_create(user=alice, title="Marker", recurrence="daily",
                                                              due_at=following.due_at))
    wait_for_next_occurrence(marker)
    wait_until(worker_idle, message="the worker to finish every job it took")
    assert Task.objects.filter(user=alice, title="Weekly team standup").count() == 2


def worker_idle() -> bool:
    from todo_project.celery import app

    replies = app.control.inspect(timeout=1.0)
    active, reserved = replies.active(), replies.reserved()
    return bool(active) and not any(active.values()) and not any((reserved or {}).values())
