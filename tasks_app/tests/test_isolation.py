"""A user sees and changes only their own tasks and tags."""

import json

import pytest

pytestmark = pytest.mark.django_db


@pytest.fixture
def alices_task(alice_api):
    return alice_api.post("/api/tasks", json.dumps({"title": "Alice's secret", "tags": ["private"]}),
                          content_type="application/json").json()


@pytest.mark.parametrize(
    "method, suffix, body",
    [("get", "", None), ("patch", "", {"title": "hacked"}), ("delete", "", None),
     ("post", "/complete", None), ("post", "/reopen", None)],
)
def test_another_users_task_is_404_and_unchanged(alice_api, bob_api, alices_task, method, suffix, body):
    kwargs = {"data": json.dumps(body), "content_type": "application/json"} if body else {}
    response = getattr(bob_api, method)(f"/api/tasks/{alices_task['id']}{suffix}", **kwargs)
    assert response.status_code == 404
    assert alice_api.get(f"/api/tasks/{alices_task['id']}").json() == alices_task


def test_lists_and_tags_show_only_the_callers_data(alice_api, bob_api, alices_task):
    bob_api.post("/api/tasks", json.dumps({"title": "Bob's", "tags": ["Private"]}), content_type="application/json")
    assert [t["title"] for t in bob_api.get("/api/tasks").json()["items"]] == ["Bob's"]
    assert bob_api.get("/api/tags").json() == [{"name": "Private", "task_count": 1}]
    assert alice_api.get("/api/tags").json() == [{"name": "private", "task_count": 1}]
