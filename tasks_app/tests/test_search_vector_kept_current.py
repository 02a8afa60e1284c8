"""The stored search_vector follows every write: task fields, tags, tag renames and deletes."""

import io

import pytest
from django.core.management import call_command
from django.db import connection

from tasks_app import services
from tasks_app.models import Task
from tasks_app.selectors import task_list

pytestmark = pytest.mark.django_db


def found(user, q):
    return [task.title for task in task_list(user=user, q=q).items]


def stored_vector(task):
    return Task.objects.values_list("search_vector", flat=True).get(pk=task.pk)


def test_a_new_task_is_searchable_at_once(alice):
    services.task_create(user=alice, title="Renew passport", description="photo booth", tags=["admin"])
    assert found(alice, "passport") == found(alice, "booth") == found(alice, "admin") == ["Renew passport"]


def test_vector_weights_title_a_description_b_tags_c(alice):
    task = services.task_create(user=alice, title="alpha", description="beta", tags=["gamma"])
    assert stored_vector(task) == "'alpha':1A 'beta':2B 'gamma':3C"


def test_updating_title_and_description_replaces_the_old_words(alice):
    task = services.task_create(user=alice, title="Old title", description="old words")
    services.task_update(task=task, title="Fresh heading", description="new text")
    assert found(alice, "old") == []
    assert found(alice, "fresh") == found(alice, "text") == ["Fresh heading"]


def test_changing_a_tasks_tags_updates_its_vector(alice):
    task = services.task_create(user=alice, title="Task", tags=["red"])
    services.task_update(task=task, tags=["blue", "green"])
    assert found(alice, "red") == []
    assert found(alice, "blue") == found(alice, "green") == ["Task"]
    services.task_update(task=task, tags=[])
    assert found(alice, "blue") == []


def test_renaming_a_tag_updates_every_task_carrying_it(alice):
    for title in ("One", "Two"):
        services.task_create(user=alice, title=title, tags=["errands"])
    services.tag_rename(user=alice, name="errands", new_name="chores")
    assert found(alice, "errands") == []
    assert sorted(found(alice, "chores")) == ["One", "Two"]


def test_merging_tags_leaves_only_the_surviving_name_searchable(alice):
    services.task_create(user=alice, title="One", tags=["job"])
    services.task_create(user=alice, title="Two", tags=["work"])
    services.tag_rename(user=alice, name="job", new_name="work")
    assert found(alice, "job") == []
    assert sorted(found(alice, "work")) == ["One", "Two"]


def test_deleting_a_tag_removes_it_from_the_vectors(alice):
    task = services.task_create(user=alice, title="Task", tags=["temp", "keep"])
    services.tag_delete(user=alice, name="temp")
    assert found(alice, "temp") == []
    assert found(alice, "keep") == ["Task"]
    assert stored_vector(task) == "'keep':2C 'task':1A"


def test_writes_that_do_not_touch_text_keep_the_vector(alice):
    task = services.task_create(user=alice, title="Water plants", tags=["home"])
    before = stored_vector(task)
    services.task_complete(task=task)
    services.task_reopen(task=task)
    assert stored_vector(task) == before


def test_a_stale_vector_written_by_the_orm_is_recomputed(alice):
    task = services.task_create(user=alice, title="Water plants")
    Task.objects.filter(pk=task.pk).update(search_vector=None)
    assert found(alice, "plants") == ["Water plants"]
    stale = Task.objects.get(pk=task.pk)
    Task.objects.filter(pk=task.pk).update(title="Feed cat")
    stale.save()  # a full save of an old instance writes the old title back, and its vector with it
    assert found(alice, "plants") == ["Water plants"] and found(alice, "cat") == []


def test_search_reindex_applies_a_changed_configuration(alice, settings):
    services.task_create(user=alice, title="Plan the meetings")
    settings.SEARCH_CONFIG = "simple"
    call_command("search_reindex", stdout=io.StringIO())
    # The simple configuration does not stem: only the exact word matches now, for old and new tasks
    # (quoted, so that the last word is not matched as a prefix too).
    services.task_create(user=alice, title="Other meetings")
    assert found(alice, '"meeting"') == []
    assert sorted(found(alice, "meetings")) == ["Other meetings", "Plan the meetings"]
    with connection.cursor() as cursor:
        cursor.execute("SELECT tasks_app_search_config()::text")
        assert cursor.fetchone() == ("simple",)
