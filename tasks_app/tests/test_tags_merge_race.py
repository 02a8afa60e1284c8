"""Two merges in opposite directions (A→B and B→A), racing on real connections, both finish:
the tags and then their tasks are locked in one order, so neither deadlocks into a 500."""

import threading

import pytest
from django.db import connections, transaction

from tasks_app import services
from tasks_app.models import Tag, Task



def wait_until_backends_wait_for_locks(count: int, timeout=30):
    import time

    from django.db import connection

    deadline = time.monotonic() + timeout
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute("SELECT pg_stat_clear_snapshot()")
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'")
            if cursor.fetchone()[0] >= count:
                return
            time.sleep(0.02)
    raise AssertionError(f"fewer than {count} backends ever waited for a lock")


@pytest.mark.django_db(transaction=True)
def test_opposite_merges_racing_both_finish_without_a_deadlock(alice, alice_api):
    shared = services.task_create(user=alice, title="both", tags=["alpha", "beta"])
    only_a = services.task_create(user=alice, title="a", tags=["alpha"])
    only_b = services.task_create(user=alice, title="b", tags=["beta"])
    outcomes = {}

    def rename(name, new_name):
        try:
            outcomes[name] = services.tag_rename(user=alice, name=name, new_name=new_name)
        except Exception as exc:  # reported by the assertions below
            outcomes[name] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=rename, args=("alpha", "beta")),
               threading.Thread(target=rename, args=("beta", "alpha"))]
    # A third request holds the first of the tasks both merges must lock, so that both start, take
    # whatever they lock first, and queue: locking a tag each and then waiting for the other's tag
    # is the deadlock this must never be.
    with transaction.atomic():
        Task.objects.select_for_update().get(pk=shared.pk)
        for thread in threads:
            thread.start()
        wait_until_backends_wait_for_locks(2)
    for thread in threads:
        thread.join(timeout=30)

    errors = {name: outcome for name, outcome in outcomes.items() if isinstance(outcome, Exception)}
    assert not errors, errors
    [tag] = Tag.objects.filter(user=alice)
    assert tag.name in ("alpha", "beta")
    for task in (shared, only_a, only_b):
        assert [t.name for t in Task.objects.get(pk=task.pk).tags.all()] == [tag.name]
    assert alice_api.get("/api/tags").json() == [{"name": tag.name, "task_count": 3}]


