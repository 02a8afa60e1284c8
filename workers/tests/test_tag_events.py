"""Renaming, merging and deleting tags change tasks: each changed task gets its update event."""

import pytest

from tasks_app import services
from tasks_app.models import OutboxEvent

pytestmark = pytest.mark.django_db


def tag_updates():
    return {event.task_id: event.payload["data"]["changes"]["tags"]
            for event in OutboxEvent.objects.filter(type="todo.task.updated")}


def test_renaming_a_tag_records_an_update_per_task(alice, event_validator):
    first = services.task_create(user=alice, title="a", tags=["wrk"])
    second = services.task_create(user=alice, title="b", tags=["wrk", "home"])
    services.task_create(user=alice, title="c", tags=["home"])
    services.tag_rename(user=alice, name="wrk", new_name="work")
    assert tag_updates() == {first.pk: {"old": ["wrk"], "new": ["work"]},
                             second.pk: {"old": ["home", "wrk"], "new": ["home", "work"]}}
    for event in OutboxEvent.objects.filter(type="todo.task.updated"):
        event_validator.validate(event.payload)


def test_merging_tags_records_only_tasks_whose_tags_changed(alice):
    both = services.task_create(user=alice, title="both", tags=["Work", "job"])
    work_only = services.task_create(user=alice, title="work only", tags=["Work"])
    job_only = services.task_create(user=alice, title="job only", tags=["job"])
    services.tag_rename(user=alice, name="job", new_name="Work")
    assert tag_updates() == {both.pk: {"old": ["job", "Work"], "new": ["Work"]},
                             job_only.pk: {"old": ["job"], "new": ["Work"]}}
    assert work_only.pk not in tag_updates()


def test_deleting_a_tag_records_an_update_per_task(alice):
    task = services.task_create(user=alice, title="a", tags=["old", "keep"])
    services.tag_delete(user=alice, name="old")
    assert tag_updates() == {task.pk: {"old": ["keep", "old"], "new": ["keep"]}}
