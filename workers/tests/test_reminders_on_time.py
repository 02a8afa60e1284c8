"""Reminders fire at their own time through a precise `eta` job (workers.fire_reminders), armed
after the commit that set them and re-checked under the claim: a completed or moved task's armed
job sends nothing, and a scan racing the job never sends one twice.

The worker runs with a scan interval of an hour and no beat, so a reminder it sends within the
wait was sent by its precise job; waits are bounded, never measured (latency: bench/reminders.py).
"""

import threading
import time
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from devstack.testing import wait_until
from tasks_app import services
from tasks_app.models import Notification, Task

NO_SCAN = {"REMINDER_SCAN_INTERVAL": "3600"}
WAIT_SECONDS = 60


def reminder_in(user, seconds: float, title="Call Sam") -> Task:
    task = services.task_create(user=user, title=title, due_at=timezone.now() + timedelta(seconds=seconds),
                                reminder_minutes_before=0)
    task.refresh_from_db()
    return task


def jobs_finished(worker, name: str) -> int:
    """How many `name` jobs the worker's log says finished ("Task <name>[<id>] succeeded in …")."""
    return sum(1 for line in worker.output().splitlines() if f"Task {name}[" in line and " succeeded in " in line)


def wait_for_notification(task: Task) -> Notification:
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        notification = Notification.objects.filter(task_id=task.pk).first()
        if notification is not None:
            return notification
        time.sleep(0.2)
    raise AssertionError(f"no reminder for task {task.pk} within {WAIT_SECONDS}s")


@pytest.mark.django_db(transaction=True)
def test_a_reminder_due_in_seconds_is_sent_by_its_precise_job_not_by_a_scan(celery_processes, alice):
    celery_processes.worker(env=NO_SCAN)
    task = reminder_in(alice, 3)

    notification = wait_for_notification(task)

    assert notification.created_at >= task.remind_at, "not before its time"
    assert "Call Sam" in notification.message
    assert Task.objects.get(pk=task.pk).reminder_sent_at is not None


@pytest.mark.django_db(transaction=True)
def test_completing_the_task_before_its_time_means_its_armed_job_sends_nothing(celery_processes, alice):
    celery_processes.worker(env=NO_SCAN)
    completed = reminder_in(alice, 3, title="Done early")
    witness = reminder_in(alice, 6, title="Witness")  # armed after the other: when it fires, the other job has run
    services.task_complete(task=completed)

    wait_for_notification(witness)

    assert not Notification.objects.filter(task_id=completed.pk).exists()


@pytest.mark.django_db(transaction=True)
def test_a_moved_reminder_fires_at_its_new_time_only(celery_processes, alice):
    celery_processes.worker(env=NO_SCAN)
    task = reminder_in(alice, 3)
    services.task_update(task=task, due_at=timezone.now() + timedelta(seconds=7))
    task.refresh_from_db()

    notification = wait_for_notification(task)
    witness = reminder_in(alice, 2, title="Witness")
    wait_for_notification(witness)

    assert notification.created_at >= task.remind_at, "the first job (at the old time) sent nothing"
    assert Notification.objects.filter(task_id=task.pk).count() == 1


@pytest.mark.django_db(transaction=True)
def test_scan_and_precise_jobs_racing_send_each_reminder_once(celery_processes, alice):
    # A worker with a one-second scan and a beat, and reminders armed for the same moment.
    worker = celery_processes.worker(env={"REMINDER_SCAN_INTERVAL": "1"})
    celery_processes.beat(env={"REMINDER_SCAN_INTERVAL": "1"})
    tasks = [reminder_in(alice, 3, title=f"Reminder {n}") for n in range(30)]
    witness = reminder_in(alice, 8, title="Witness")

    for task in tasks + [witness]:
        wait_for_notification(task)
    # Two more scans over the sent ones finished (the worker's log says so): a duplicate they could
    # send is in the table by now.  Counted, not slept for.
    seen = jobs_finished(worker, "workers.scan_reminders")
    wait_until(lambda: jobs_finished(worker, "workers.scan_reminders") >= seen + 2, timeout=WAIT_SECONDS, message="two more reminder scans")

    for task in tasks:
        assert Notification.objects.filter(task_id=task.pk).count() == 1, task.pk


@pytest.mark.django_db(transaction=True)
def test_concurrent_scan_and_precise_claims_never_send_one_reminder_twice(alice):
    tasks = [services.task_create(user=alice, title=f"R{n}", due_at=timezone.now() - timedelta(seconds=1),
                                  reminder_minutes_before=0) for n in range(60)]
    ids = [task.pk for task in tasks]
    barrier = threading.Barrier(4)
    claimed: list[int] = []
    lock = threading.Lock()

    def claim(precise: bool):
        try:
            barrier.wait()
            for _ in range(5):
                sent = services.reminders_claim_due(task_ids=ids) if precise else services.reminders_claim_due(limit=9)
                with lock:
                    claimed.extend(notification.task_id for notification in sent)
        finally:
            connection.close()

    threads = [threading.Thread(target=claim, args=(n % 2 == 0,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(claimed) == sorted(ids)
    assert Notification.objects.count() == 60


@pytest.mark.django_db
def test_a_snoozed_reminder_is_armed_again_and_fires_once_at_the_snoozed_time(alice):
    task = services.task_create(user=alice, title="Call Sam", due_at=timezone.now() + timedelta(minutes=10),
                                reminder_minutes_before=30)
    (notification,) = services.reminders_claim_due(task_ids=[task.pk])
    _, task = services.notification_snooze(user=alice, notification_id=notification.pk, minutes=5)
    until = task.snoozed_until

    # The scan before the snooze ends arms it (the snooze is longer than one scan window).
    assert services.reminders_coming_up(now=until - timedelta(seconds=20), until=until) == [(task.pk, until)]
    assert services.reminders_claim_due(task_ids=[task.pk], now=until - timedelta(seconds=1)) == []
    assert len(services.reminders_claim_due(task_ids=[task.pk], now=until)) == 1
    assert services.reminders_claim_due(task_ids=[task.pk], now=until + timedelta(seconds=1)) == []


@pytest.mark.django_db
def test_reminders_coming_up_are_those_after_now_and_up_to_the_horizon(alice):
    now = timezone.now()
    soon = services.task_create(user=alice, title="soon", due_at=now + timedelta(seconds=20), reminder_minutes_before=0)
    services.task_create(user=alice, title="later", due_at=now + timedelta(minutes=5), reminder_minutes_before=0)
    services.task_create(user=alice, title="past", due_at=now - timedelta(seconds=5), reminder_minutes_before=0)
    done = services.task_create(user=alice, title="done", due_at=now + timedelta(seconds=10), reminder_minutes_before=0)
    services.task_complete(task=done)
    coming = services.reminders_coming_up(now=now, until=now + timedelta(seconds=40))
    assert [task_id for task_id, _ in coming] == [soon.pk]


@pytest.mark.django_db(transaction=True)
def test_a_reminder_whose_row_is_locked_when_its_job_runs_is_sent_once_the_lock_goes(celery_processes, alice):
    """The claim skips locked rows (SKIP LOCKED, so scans never wait on each other); the precise job
    arms itself again for a reminder it skipped, rather than leaving it to a scan (there is none here)."""
    worker = celery_processes.worker(env=NO_SCAN)
    task = reminder_in(alice, 2)
    locked, release = threading.Event(), threading.Event()

    def hold_the_row():
        from django.db import transaction

        try:
            with transaction.atomic():
                Task.objects.select_for_update().get(pk=task.pk)
                locked.set()
                release.wait(30)
        finally:
            connection.close()

    holder = threading.Thread(target=hold_the_row)
    holder.start()
    locked.wait(10)
    # Past its time while the row is held: the first precise job has run (the worker's log says it
    # finished) and met the lock.  Waited for, not slept for.
    wait_until(lambda: jobs_finished(worker, "workers.fire_reminders") >= 1, timeout=WAIT_SECONDS,
               message="the first precise job to run into the held row")
    assert not Notification.objects.filter(task_id=task.pk).exists(), "not sent through a held lock"
    release.set()
    holder.join()

    wait_for_notification(task)
    assert Notification.objects.filter(task_id=task.pk).count() == 1
