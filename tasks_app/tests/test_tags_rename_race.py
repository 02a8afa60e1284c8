"""A rename racing the creation of a tag with the new name merges into it instead of failing."""

import threading
import time

import pytest
from django.db import connection, connections, transaction

from tasks_app import services
from tasks_app.models import Tag, Task


def wait_until_a_backend_waits_for_a_lock(timeout=30):
    deadline = time.monotonic() + timeout
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            # Inside a transaction the statistics views are a snapshot unless cleared.
            cursor.execute("SELECT pg_stat_clear_snapshot()")
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'")
            if cursor.fetchone()[0]:
                return
            time.sleep(0.02)
    raise AssertionError("the rename never waited for the concurrent insert")


@pytest.mark.django_db(transaction=True)
def test_rename_merges_into_a_tag_created_concurrently(alice):
    task = services.task_create(user=alice, title="a", tags=["old"])
    outcome = {}

    def rename():
        try:
            outcome["tag"] = services.tag_rename(user=alice, name="old", new_name="New")
        except Exception as exc:  # reported by the assertion below
            outcome["error"] = exc
        finally:
            connections.close_all()

    # Another request creates "new" and has not committed yet: the rename cannot see it, and its
    # UPDATE waits on the unique index until that request commits.
    with transaction.atomic():
        Tag.objects.create(user=alice, name="new")
        thread = threading.Thread(target=rename)
        thread.start()
        wait_until_a_backend_waits_for_a_lock()
    thread.join(timeout=30)

    assert "error" not in outcome, outcome.get("error")
    assert outcome["tag"].name == "New"
    assert list(Tag.objects.filter(user=alice).values_list("name", flat=True)) == ["New"]
    assert [tag.name for tag in Task.objects.get(pk=task.pk).tags.all()] == ["New"]
