"""The audit trail: one AuditLog row (and one JSON log line) per outbox event.

Written by a Celery job after the change commits, from the event the change
recorded, so the trail says exactly what consumers were told.
"""

from __future__ import annotations

import json
import logging

from django.contrib.auth import get_user_model
from django.db import transaction

from ..models import AuditLog, OutboxEvent
from ..webhooks.services import deliveries_create

User = get_user_model()
audit_logger = logging.getLogger("todo.audit")


@transaction.atomic
def audit_record(*, event_id) -> AuditLog | None:
    """The AuditLog row of outbox event `event_id` (a UUID), plus one JSON log line.

    Idempotent: a redelivered job finds the row and writes nothing.
    """
    event = OutboxEvent.objects.filter(event_id=event_id).first()
    if event is None:
        return None
    entry, created = AuditLog.objects.get_or_create(
        event_id=event.event_id,
        defaults={
            "type": event.type,
            "user_id": event.user_id if User.objects.filter(pk=event.user_id).exists() else None,
            "task_id": event.task_id,
            "data": event.payload["data"],
            "occurred_at": event.created_at,
        },
    )
    if created:
        deliveries_create(outbox_events=[event])
        audit_logger.info(json.dumps({
            "audit": True, "event_id": str(event.event_id), "type": event.type, "user_id": event.user_id,
            "task_id": event.task_id, "time": event.created_at.isoformat(),
            "changes": sorted(event.payload["data"].get("changes", {})),
        }))
    return entry


@transaction.atomic
def audit_record_many(*, event_ids) -> int:
    """The AuditLog rows (and JSON log lines) of many outbox events at once: three queries
    and one INSERT, however many events; the events' webhook deliveries are written in the
    same transaction (tasks_app.webhooks), so each is made exactly once.  Idempotent like audit_record: events already
    audited (a redelivered job, a sweep) are skipped.  Returns the rows written."""
    event_ids = list(event_ids)
    done = set(AuditLog.objects.filter(event_id__in=event_ids).values_list("event_id", flat=True))
    events = [event for event in OutboxEvent.objects.filter(event_id__in=event_ids).order_by("id")
              if event.event_id not in done]
    if not events:
        return 0
    users = set(User.objects.filter(pk__in={e.user_id for e in events if e.user_id}).values_list("pk", flat=True))
    AuditLog.objects.bulk_create([
        AuditLog(event_id=event.event_id, type=event.type, user_id=event.user_id if event.user_id in users else None,
                 task_id=event.task_id, data=event.payload["data"], occurred_at=event.created_at)
        for event in events
    ], ignore_conflicts=True)  # a concurrent job for the same events wrote them first
    deliveries_create(outbox_events=events)
    for event in events:
        audit_logger.info(json.dumps({
            "audit": True, "event_id": str(event.event_id), "type": event.type, "user_id": event.user_id,
            "task_id": event.task_id, "time": event.created_at.isoformat(),
            "changes": sorted(event.payload["data"].get("changes", {})),
        }))
    return len(events)
