"""Per-user storage quotas on tasks and tags: a clear 403 naming the quota, through REST and MCP alike."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from chat_app.tests.conftest import call_tool
from tasks_app import services
from tasks_app.models import Tag, Task

pytestmark = pytest.mark.django_db


def create(client, **body):
    return client.post("/api/tasks", json.dumps(body), content_type="application/json")


def test_tasks_per_user_stop_at_the_quota(alice_api, bob_api, alice, settings):
    settings.QUOTA_TASKS_PER_USER = 3
    for number in range(3):
        assert create(alice_api, title=f"Task {number}").status_code == 201
    response = create(alice_api, title="One too many")
    assert response.status_code == 403
    assert response.json()["detail"] == "quota exceeded: at most 3 tasks per user; delete some to add more"
    assert Task.objects.filter(user=alice).count() == 3
    # Another user's count is their own.
    assert create(bob_api, title="Bob's first").status_code == 201

    result = call_tool(alice, "add_task", {"title": "Through MCP"})
    assert result.is_error and "at most 3 tasks per user" in result.content[0].text

    # Deleting one makes room again.
    services.task_delete(task=Task.objects.filter(user=alice).first())
    assert create(alice_api, title="Room again").status_code == 201


def test_the_next_occurrence_of_a_series_is_not_refused_by_the_quota(alice, settings):
    settings.QUOTA_TASKS_PER_USER = 1
    weekly = services.task_create(user=alice, title="Weekly review", recurrence="FREQ=WEEKLY",
                                  due_at=datetime(2030, 1, 7, 9, 0, tzinfo=UTC))
    services.task_complete(task=weekly)
    assert services.task_spawn_next_occurrence(task_id=weekly.pk) is not None


def test_tags_per_user_stop_at_the_quota(alice_api, alice, settings):
    settings.QUOTA_TAGS_PER_USER = 2
    assert create(alice_api, title="Tagged", tags=["work", "home"]).status_code == 201
    # Existing tags (any case) can still be used; a new one cannot.
    assert create(alice_api, title="Reuse", tags=["WORK"]).status_code == 201
    response = create(alice_api, title="New tag", tags=["home", "garden"])
    assert response.status_code == 403
    assert "at most 2 tags per user" in response.json()["detail"]
    assert not Task.objects.filter(title="New tag").exists()

    task_id = Task.objects.get(title="Reuse").pk
    response = alice_api.patch(f"/api/tasks/{task_id}", json.dumps({"tags": ["garden"]}),
                               content_type="application/json")
    assert response.status_code == 403
    assert sorted(Tag.objects.filter(user=alice).values_list("name", flat=True)) == ["home", "work"]
