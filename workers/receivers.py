"""Signal receivers: each hands its work to Celery once the transaction commits.

One dispatch per transaction, not per event (workers.dispatch): the first event of a
transaction registers the after-commit dispatch, later ones join its batch — one sink
kick; its event ids fed to the audit and the live feeds, each drained by one job however many
commits feed it while it waits (live_push_many sends each event to its own user's group).

robust=True: the change is already committed when these run; if Redis is
unreachable the dispatch is logged and the beat sweepers pick the work up,
rather than turning a saved change into an error for the caller.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver
from django.utils import timezone

from tasks_app.models import Task
from tasks_app.signals import (
    event_recorded,
    notification_deliveries_created,
    task_completed,
    webhook_deliveries_created,
)

from . import dispatch, tasks


@receiver(event_recorded, dispatch_uid="workers.publish_outbox")
def publish_after_commit(sender, event, **kwargs):
    dispatch.once("sink", tasks.kick_sink)


@receiver(event_recorded, dispatch_uid="workers.record_audit")
def audit_after_commit(sender, event, **kwargs):
    dispatch.collect("audit", str(event.event_id), tasks.feed_audit)


@receiver(task_completed, dispatch_uid="workers.spawn_next_occurrence")
def recur_after_commit(sender, task, **kwargs):
    transaction.on_commit(lambda: tasks.spawn_next_occurrence.delay(task.pk), robust=True)


@receiver(event_recorded, dispatch_uid="workers.push_live_update")
def push_live_after_commit(sender, event, **kwargs):
    # One feed per transaction, whatever the number of users in it: a request is one user's anyway,
    # and a reminder claim spanning 40 users would otherwise queue 40 jobs per slice.
    dispatch.collect("live", str(event.event_id), tasks.feed_live)


@receiver(webhook_deliveries_created, dispatch_uid="workers.deliver_webhooks")
def deliver_webhooks_after_commit(sender, count, **kwargs):
    dispatch.once("webhooks", tasks.kick_webhooks)


@receiver(notification_deliveries_created, dispatch_uid="workers.deliver_notifications")
def deliver_notifications_after_commit(sender, count, **kwargs):
    dispatch.once("notifications", tasks.kick_notifications)


@receiver(post_save, sender=Task, dispatch_uid="workers.arm_reminder")
def arm_reminder_after_commit(sender, instance, **kwargs):
    """A save that leaves a reminder due before the next scan arms its precise job after commit
    (one dispatch per transaction).  Its time is read off the instance as the remind_at trigger
    computes it; the job re-checks the stored row, so a time read wrong only costs a claim that
    finds nothing yet (and arms again) or leaves the reminder to the scan."""
    when = reminder_time(instance)
    if when is None:
        return
    horizon = timezone.now() + timedelta(seconds=settings.REMINDER_SCAN_INTERVAL + settings.REMINDER_SCHEDULE_MARGIN)
    if when <= horizon:
        dispatch.collect("reminders", (instance.pk, when.isoformat()), tasks.arm_reminders)


def reminder_time(task: Task):
    """When `task`'s reminder is to be sent, or None when there is none to send."""
    if task.completed or task.reminder_sent_at is not None or task.due_at is None \
            or task.reminder_minutes_before is None:
        return None
    when = task.snoozed_until or task.due_at - timedelta(minutes=task.reminder_minutes_before)
    # Only a real aware time: this runs inside the caller's save, which must not fail for it.
    return when if isinstance(when, datetime) and when.tzinfo is not None else None
