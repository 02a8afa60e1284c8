"""Signal receivers: each hands one job to Celery once the transaction commits.

robust=True: the change is already committed when these run; if Redis is
unreachable the dispatch is logged and the beat sweepers pick the work up,
rather than turning a saved change into an error for the caller.
"""

from django.db import transaction
from django.dispatch import receiver

from tasks_app.signals import event_recorded, task_completed

from . import tasks


@receiver(event_recorded, dispatch_uid="workers.publish_outbox")
def publish_after_commit(sender, event, **kwargs):
    transaction.on_commit(tasks.publish_outbox.delay, robust=True)


@receiver(event_recorded, dispatch_uid="workers.record_audit")
def audit_after_commit(sender, event, **kwargs):
    transaction.on_commit(lambda: tasks.record_audit.delay(str(event.event_id)), robust=True)


@receiver(task_completed, dispatch_uid="workers.spawn_next_occurrence")
def recur_after_commit(sender, task, **kwargs):
    transaction.on_commit(lambda: tasks.spawn_next_occurrence.delay(task.pk), robust=True)


@receiver(event_recorded, dispatch_uid="workers.push_live_update")
def push_live_after_commit(sender, event, **kwargs):
    transaction.on_commit(lambda: tasks.push_live_update.delay(str(event.event_id)), robust=True)
