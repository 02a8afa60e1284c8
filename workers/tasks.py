"""Celery jobs: thin wrappers that take ids, fetch, and call a service.

Which are safe to run twice decides their acknowledgement: the idempotent ones
(DB-enforced) ack late, so a worker killed mid-job has it redelivered; the
periodic ones expire instead of piling up while no worker runs.
"""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings
from django.db import OperationalError
from django.utils import timezone

from tasks_app import live, selectors, services

from . import metrics, outbox

logger = logging.getLogger(__name__)

IDEMPOTENT = {"acks_late": True, "reject_on_worker_lost": True}
TRANSIENT = {"autoretry_for": (OperationalError,), "retry_backoff": True, "retry_backoff_max": 60,
             "max_retries": 8}


@shared_task(name="workers.publish_outbox", ignore_result=True)
def publish_outbox() -> int:
    """Forward unpublished outbox rows to Kafka (after each commit, and every few seconds from beat)."""
    return outbox.publish_pending().published


@shared_task(name="workers.record_audit", ignore_result=True, **IDEMPOTENT, **TRANSIENT)
def record_audit(event_id: str) -> None:
    services.audit_record(event_id=event_id)


@shared_task(name="workers.spawn_next_occurrence", ignore_result=True, **IDEMPOTENT, **TRANSIENT)
def spawn_next_occurrence(task_id: int) -> int | None:
    task = services.task_spawn_next_occurrence(task_id=task_id)
    return task.pk if task else None


@shared_task(name="workers.scan_reminders", ignore_result=True)
def scan_reminders() -> int:
    claimed = len(services.reminders_claim_due())
    metrics.record_reminder_scan()
    return claimed


@shared_task(name="workers.sweep_lost_jobs", ignore_result=True)
def sweep_lost_jobs(limit: int = 500) -> dict[str, int]:
    """Re-dispatch audit and recurrence jobs whose after-commit dispatch was lost
    (Redis down at that moment, a worker killed before acking) within the last
    JOB_SWEEP_WINDOW_SECONDS.  Both jobs are idempotent, so a job that was merely
    slow does no harm when sent again; a series that has spawned or ended is not
    looked at again."""
    now = timezone.now()
    settled = now - timezone.timedelta(seconds=settings.JOB_SWEEP_GRACE_SECONDS)
    since = now - timezone.timedelta(seconds=settings.JOB_SWEEP_WINDOW_SECONDS)
    unaudited = selectors.outbox_events_unaudited(settled_before=settled, since=since, limit=limit)
    for event_id in unaudited:
        record_audit.delay(str(event_id))
    unspawned = selectors.recurring_tasks_awaiting_next(settled_before=settled, since=since, limit=limit)
    for task_id in unspawned:
        spawn_next_occurrence.delay(task_id)
    return {"audit": len(unaudited), "recurrence": len(unspawned)}


@shared_task(name="workers.push_live_update", ignore_result=True, expires=60)
def push_live_update(event_id: str) -> bool:
    """Send one event to its user's open pages (WebSocket group).  Not retried, and dropped when
    a minute late (a backlog after an outage): a page reloads its whole list on the next push it
    gets and whenever its socket reconnects, so a lost push heals itself."""
    return live.live_push(event_id=event_id)
