"""GET /api/tags with counts; PATCH renames (merging on a case-insensitive collision); DELETE
removes a tag from every task."""

import json

import pytest

from tasks_app.models import Tag
from tasks_app.services import task_create

pytestmark = pytest.mark.django_db


def rename(client, name, new_name):
    return client.patch(f"/api/tags/{name}", json.dumps({"name": new_name}), content_type="application/json")


def tags_of(client):
    return {item["title"]: item["tags"] for item in client.get("/api/tasks").json()["items"]}


def test_list_counts_tasks_per_tag_by_name(alice, alice_api):
    task_create(user=alice, title="a", tags=["work", "Urgent"])
    task_create(user=alice, title="b", tags=["work"])
    task_create(user=alice, title="c", tags=["home"])
    assert alice_api.get("/api/tags").json() == [
        {"name": "home", "task_count": 1}, {"name": "Urgent", "task_count": 1}, {"name": "work", "task_count": 2}]


def test_rename_changes_the_tag_on_every_task(alice, alice_api):
    task_create(user=alice, title="a", tags=["errands", "x"])
    task_create(user=alice, title="b", tags=["errands"])
    response = rename(alice_api, "errands", "chores")
    assert response.status_code == 200
    assert response.json() == {"name": "chores", "task_count": 2}
    assert tags_of(alice_api) == {"a": ["chores", "x"], "b": ["chores"]}


def test_rename_matches_the_old_name_in_any_case(alice, alice_api):
    task_create(user=alice, title="a", tags=["Errands"])
    assert rename(alice_api, "errands", "chores").json() == {"name": "chores", "task_count": 1}


def test_rename_can_change_only_the_case(alice, alice_api):
    task_create(user=alice, title="a", tags=["work"])
    assert rename(alice_api, "work", "Work").json() == {"name": "Work", "task_count": 1}
    assert Tag.objects.filter(user=alice).count() == 1


def test_rename_onto_an_existing_tag_merges_them(alice, alice_api):
    task_create(user=alice, title="only job", tags=["job"])
    task_create(user=alice, title="only work", tags=["work"])
    task_create(user=alice, title="both", tags=["job", "work"])
    response = rename(alice_api, "job", "WORK")
    assert response.status_code == 200
    assert response.json() == {"name": "WORK", "task_count": 3}
    assert tags_of(alice_api) == {"only job": ["WORK"], "only work": ["WORK"], "both": ["WORK"]}
    assert list(Tag.objects.filter(user=alice).values_list("name", flat=True)) == ["WORK"]


def test_rename_cleans_the_new_name_like_task_tags(alice, alice_api):
    task_create(user=alice, title="a", tags=["x"])
    assert rename(alice_api, "x", "  #y ").json()["name"] == "y"


@pytest.mark.parametrize("new_name", ["", "   ", "#", "z" * 51])
def test_rename_to_a_bad_name_is_422_naming_the_field(alice, alice_api, new_name):
    task_create(user=alice, title="a", tags=["x"])
    response = rename(alice_api, "x", new_name)
    assert response.status_code == 422
    assert any(error["field"] == "name" for error in response.json()["errors"])
    assert tags_of(alice_api) == {"a": ["x"]}


def test_rename_without_a_body_is_422(alice, alice_api):
    task_create(user=alice, title="a", tags=["x"])
    assert alice_api.patch("/api/tags/x", "{}", content_type="application/json").status_code == 422


def test_unknown_tag_is_404(alice_api):
    assert rename(alice_api, "nope", "other").status_code == 404
    assert alice_api.delete("/api/tags/nope").status_code == 404


def test_another_users_tag_is_404_and_unchanged(alice, alice_api, bob_api):
    task_create(user=alice, title="a", tags=["private"])
    assert rename(bob_api, "private", "mine").status_code == 404
    assert bob_api.delete("/api/tags/private").status_code == 404
    assert tags_of(alice_api) == {"a": ["private"]}


def test_renaming_never_merges_with_another_users_tag(alice, bob, alice_api):
    task_create(user=alice, title="a", tags=["x"])
    task_create(user=bob, title="b", tags=["y"])
    assert rename(alice_api, "x", "y").json() == {"name": "y", "task_count": 1}
    assert Tag.objects.get(user=bob).name == "y"


def test_delete_removes_the_tag_from_every_task_and_keeps_the_tasks(alice, alice_api):
    task_create(user=alice, title="a", tags=["temp", "keep"])
    task_create(user=alice, title="b", tags=["TEMP"])
    assert alice_api.delete("/api/tags/Temp").status_code == 204
    assert tags_of(alice_api) == {"a": ["keep"], "b": []}
    assert alice_api.get("/api/tags").json() == [{"name": "keep", "task_count": 1}]


def test_names_with_spaces_and_slashes_work_in_the_path(alice, alice_api):
    task_create(user=alice, title="a", tags=["a/b c"])
    assert rename(alice_api, "a%2Fb%20c", "d/e").json() == {"name": "d/e", "task_count": 1}
    assert alice_api.delete("/api/tags/d/e").status_code == 204
    assert tags_of(alice_api) == {"a": []}
