"""The lost-job sweeper leaves alone a job still inside its grace window (JOB_SWEEP_GRACE_SECONDS):
it may simply be queued or running.  The failure tests set the window to 0, so without this one a
sweeper that ignored it would re-send every job the moment it was dispatched."""

from datetime import datetime, timedelta, timezone

import pytest
from django.db.models import F

from tasks_app import services
from tasks_app.models import OutboxEvent, Task
from todo_project.celery import app
from workers import tasks as jobs

pytestmark = pytest.mark.django_db


def completed_recurring(user, title: str) -> Task:
    task = services.task_create(user=user, title=title, recurrence="daily",
                                due_at=datetime(2027, 1, 11, 9, tzinfo=timezone.utc))
    return services.task_complete(task=task)


def test_a_job_inside_the_grace_window_is_left_alone_and_one_past_it_is_swept(alice, settings):
    settings.JOB_SWEEP_GRACE_SECONDS = 60
    app.control.purge()  # another test's backlog would make the sweep skip (SWEEP_BACKLOG_LIMIT)
    # The test's transaction never commits, so neither task's after-commit jobs were sent: to the
    # sweeper both look dispatched and not yet done.  Only the age tells them apart.
    in_flight = completed_recurring(alice, "Completed a moment ago")
    lost = completed_recurring(alice, "Completed two minutes ago")
    two_minutes_ago = F("completed_at") - timedelta(minutes=2)
    Task.objects.filter(pk=lost.pk).update(completed_at=two_minutes_ago)
    OutboxEvent.objects.filter(task_id=lost.pk).update(created_at=F("created_at") - timedelta(minutes=2))
    lost_events = OutboxEvent.objects.filter(task_id=lost.pk).count()
    assert OutboxEvent.objects.filter(task_id=in_flight.pk).exists() and lost_events >= 1

    swept = jobs.sweep_lost_jobs()

    # Counting only `lost` (a positive marker that the sweep ran and looked) means `in_flight` was skipped.
    assert swept == {"audit": lost_events, "recurrence": 1}
    app.control.purge()  # the re-sent jobs: no worker of a later test should run them
