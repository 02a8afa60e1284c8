"""Signal receivers: each hands its work to Celery once the transaction commits.

One dispatch per transaction, not per event (workers.dispatch): the first event of a
transaction registers the after-commit dispatch, later ones join its batch — one sink
kick, one audit job for all the events, one live push job per user.

robust=True: the change is already committed when these run; if Redis is
unreachable the dispatch is logged and the beat sweepers pick the work up,
rather than turning a saved change into an error for the caller.
"""

from django.db import transaction
from django.dispatch import receiver

from tasks_app.signals import event_recorded, task_completed, webhook_deliveries_created

from . import dispatch, tasks


@receiver(event_recorded, dispatch_uid="workers.publish_outbox")
def publish_after_commit(sender, event, **kwargs):
    dispatch.once("sink", tasks.kick_sink)


@receiver(event_recorded, dispatch_uid="workers.record_audit")
def audit_after_commit(sender, event, **kwargs):
    dispatch.collect("audit", str(event.event_id), tasks.dispatch_audit)


@receiver(task_completed, dispatch_uid="workers.spawn_next_occurrence")
def recur_after_commit(sender, task, **kwargs):
    transaction.on_commit(lambda: tasks.spawn_next_occurrence.delay(task.pk), robust=True)


@receiver(event_recorded, dispatch_uid="workers.push_live_update")
def push_live_after_commit(sender, event, **kwargs):
    dispatch.collect(f"live:{event.user_id}", str(event.event_id), tasks.dispatch_live)


@receiver(webhook_deliveries_created, dispatch_uid="workers.deliver_webhooks")
def deliver_webhooks_after_commit(sender, count, **kwargs):
    dispatch.once("webhooks", tasks.kick_webhooks)
