"""Recurrence through a real worker process: a hostile series cannot hold the workers, a series
counts, clamps and ends, and the sweeper neither resurrects a deleted occurrence nor re-sends an
ended series (issue 11).

Written against the public services and the database only, so they also run (and fail) on the
code before series states existed."""

from datetime import datetime, timezone

from devstack.testing import wait_until
from tasks_app import services
from tasks_app.models import Task
from workers import tasks as jobs

UTC = timezone.utc
# The seconds another user's next occurrence may take while the hostile jobs run, on a loaded machine.
PROMPT = 20


def next_of(task) -> Task | None:
    return Task.objects.filter(previous_occurrence=task).first()


def wait_for_next(task, timeout: float = PROMPT) -> Task:
    return wait_until(lambda: next_of(task), timeout=timeout, message=f"the occurrence after {task.title!r}")


def settle(bob) -> None:
    """Wait until a one-process worker has run every job queued so far: the next occurrence of a
    task completed now appears after them (jobs run in order)."""
    marker = services.task_create(user=bob, title="marker", recurrence="daily",
                                  due_at=datetime(2027, 1, 4, 9, tzinfo=UTC))
    services.task_complete(task=marker)
    wait_for_next(marker, timeout=60)


def legacy_completed(user, rule: str) -> Task:
    """A recurring task as rows written before the bounds hold it: due in 1900, any rule."""
    task = Task.objects.create(user=user, title=f"legacy {rule}", recurrence=rule,
                               due_at=datetime(1900, 1, 1, tzinfo=UTC))
    return services.task_complete(task=task)


def test_hostile_series_do_not_hold_up_another_users_recurrence(celery_processes, alice, bob):
    celery_processes.worker(concurrency=2)
    for rule in ("FREQ=SECONDLY", "FREQ=MINUTELY;BYMONTH=2;BYMONTHDAY=30",
                 "FREQ=HOURLY;BYMONTH=2;BYMONTHDAY=30", "FREQ=HOURLY"):
        legacy_completed(alice, rule)
    weekly = services.task_create(user=bob, title="Bob's review", recurrence="weekly",
                                  due_at=datetime(2027, 1, 11, 9, tzinfo=UTC))
    services.task_complete(task=weekly)
    assert wait_for_next(weekly).due_at == datetime(2027, 1, 18, 9, tzinfo=UTC)


def test_count_two_yields_exactly_one_more_occurrence(celery_processes, alice, bob):
    celery_processes.worker(concurrency=1)
    first = services.task_create(user=alice, title="Twice", recurrence="FREQ=DAILY;COUNT=2",
                                 due_at=datetime(2027, 1, 11, 9, tzinfo=UTC))
    services.task_complete(task=first)
    second = wait_for_next(first)
    assert second.due_at == datetime(2027, 1, 12, 9, tzinfo=UTC)
    services.task_complete(task=second)
    settle(bob)
    assert next_of(second) is None
    assert Task.objects.filter(user=alice).count() == 2


def test_a_monthly_series_from_january_31_falls_on_february_28_then_march_31(celery_processes, alice):
    celery_processes.worker(concurrency=1)
    task = services.task_create(user=alice, title="Rent", recurrence="monthly",
                                due_at=datetime(2027, 1, 31, 9, tzinfo=UTC))
    dues = []
    for _ in range(2):
        services.task_complete(task=task)
        task = wait_for_next(task)
        dues.append(task.due_at)
    assert dues == [datetime(2027, 2, 28, 9, tzinfo=UTC), datetime(2027, 3, 31, 9, tzinfo=UTC)]


def test_a_deleted_next_occurrence_stays_deleted_after_the_sweep(celery_processes, alice, bob, settings):
    settings.JOB_SWEEP_GRACE_SECONDS = 0
    celery_processes.worker(concurrency=1)
    task = services.task_create(user=alice, title="Gym", recurrence="weekly",
                                due_at=datetime(2027, 1, 11, 9, tzinfo=UTC))
    services.task_complete(task=task)
    services.task_delete(task=wait_for_next(task))
    swept = jobs.sweep_lost_jobs()
    settle(bob)
    assert next_of(task) is None
    assert swept["recurrence"] == 0


def test_an_ended_series_is_not_dispatched_again(celery_processes, alice, bob, settings):
    settings.JOB_SWEEP_GRACE_SECONDS = 0
    celery_processes.worker(concurrency=1)
    first = services.task_create(user=alice, title="Two days", recurrence="FREQ=DAILY;UNTIL=20270112T235959Z",
                                 due_at=datetime(2027, 1, 11, 9, tzinfo=UTC))
    services.task_complete(task=first)
    last = wait_for_next(first)
    services.task_complete(task=last)
    settle(bob)
    assert next_of(last) is None
    assert jobs.sweep_lost_jobs()["recurrence"] == 0
    assert jobs.sweep_lost_jobs()["recurrence"] == 0
