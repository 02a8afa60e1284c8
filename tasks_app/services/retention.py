"""Retention: what is past its window is deleted, in small batches, by a beat job.

Each batch is one `DELETE … WHERE id = ANY(ARRAY(SELECT id … ORDER BY <indexed column> LIMIT n))`
in its own short transaction: the inner SELECT walks an index from the oldest row (see the
indexes' comments in tasks_app/models.py), the DELETE finds its rows by primary key, and no
lock is held beyond one batch.  A run stops after RETENTION_MAX_BATCHES batches per table or at
its deadline; a larger backlog drains over the next runs.  A window of 0 days keeps forever.

Idempotency keys go after IDEMPOTENCY_KEY_TTL_HOURS (always: a key is not a record to keep).

Never deleted: an outbox row not yet published (or parked), or one the audit trail lacks
(the lost-job sweeper would have nothing left to audit it from).
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from ..models import AuditLog, Change, IdempotencyKey, Notification, OutboxEvent, WebhookDelivery


def _table(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def delete_in_batches(table: str, select_ids_sql: str, params: list, *, deadline: float) -> int:
    """Delete the rows of `table` whose ids `select_ids_sql` (ending in `LIMIT %s`) selects,
    batch after batch, each committed on its own.  Returns the rows deleted."""
    batch = settings.RETENTION_BATCH_SIZE
    total = 0
    for _ in range(settings.RETENTION_MAX_BATCHES):
        if time.monotonic() >= deadline:
            break
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {table} WHERE id = ANY(ARRAY({select_ids_sql}))", [*params, batch])
            deleted = cursor.rowcount
        total += deleted
        if deleted < batch:
            break
    return total


def _cutoff(days: int, now: datetime | None) -> datetime | None:
    return None if not days else (now or timezone.now()) - timedelta(days=days)


def outbox_prune(*, older_than: datetime, deadline: float) -> int:
    """Published outbox rows published before `older_than` whose audit row exists."""
    outbox, audit = _table(OutboxEvent), _table(AuditLog)
    # A row the sink parked (workers.outbox, poison messages) is kept for the operator.
    parked = " AND o.parked_at IS NULL" if any(f.name == "parked_at" for f in OutboxEvent._meta.fields) else ""
    return delete_in_batches(
        outbox,
        f"SELECT o.id FROM {outbox} o WHERE o.published_at < %s{parked} "
        f"AND EXISTS (SELECT 1 FROM {audit} a WHERE a.event_id = o.event_id) "
        "ORDER BY o.published_at LIMIT %s",
        [older_than], deadline=deadline)


def audit_prune(*, older_than: datetime, deadline: float) -> int:
    audit = _table(AuditLog)
    return delete_in_batches(audit, f"SELECT id FROM {audit} WHERE occurred_at < %s ORDER BY occurred_at LIMIT %s",
                             [older_than], deadline=deadline)


def notifications_prune(*, read_before: datetime, deadline: float) -> int:
    """Notifications read before `read_before` (unread ones stay, however old)."""
    table = _table(Notification)
    return delete_in_batches(table, f"SELECT id FROM {table} WHERE read_at < %s ORDER BY read_at LIMIT %s",
                             [read_before], deadline=deadline)


def webhook_deliveries_prune(*, older_than: datetime, deadline: float) -> int:
    """Finished webhook deliveries (succeeded or failed) created before `older_than`."""
    table = _table(WebhookDelivery)
    return delete_in_batches(
        table, f"SELECT id FROM {table} WHERE created_at < %s AND status <> 'pending' ORDER BY created_at LIMIT %s",
        [older_than], deadline=deadline)


def idempotency_keys_prune(*, older_than: datetime, deadline: float) -> int:
    """Idempotency keys used before `older_than`: past their lifetime, a retry is a new request."""
    table = _table(IdempotencyKey)
    return delete_in_batches(table, f"SELECT id FROM {table} WHERE created_at < %s ORDER BY created_at LIMIT %s",
                             [older_than], deadline=deadline)


def changes_prune(*, older_than: datetime, keep_per_user: int, deadline: float) -> int:
    """Undo history (a deleted task's snapshot with it): changes made before `older_than`, then each
    user's changes beyond their latest `keep_per_user`."""
    table = _table(Change)
    pruned = delete_in_batches(table, f"SELECT id FROM {table} WHERE created_at < %s ORDER BY created_at LIMIT %s",
                               [older_than], deadline=deadline)
    return pruned + delete_in_batches(
        table,
        f"SELECT id FROM (SELECT id, row_number() OVER (PARTITION BY user_id ORDER BY id DESC) AS newer "
        f"FROM {table}) ranked WHERE newer > %s LIMIT %s",
        [keep_per_user], deadline=deadline)


def retention_prune(*, now: datetime | None = None, deadline: float | None = None) -> dict[str, int]:
    """Prune the outbox, the audit trail, read notifications and spent idempotency keys on their
    configured windows."""
    deadline = deadline if deadline is not None else time.monotonic() + 60
    pruned = {}
    if cutoff := _cutoff(settings.OUTBOX_RETENTION_DAYS, now):
        pruned["outbox"] = outbox_prune(older_than=cutoff, deadline=deadline)
    if cutoff := _cutoff(settings.AUDIT_RETENTION_DAYS, now):
        pruned["audit"] = audit_prune(older_than=cutoff, deadline=deadline)
    if cutoff := _cutoff(settings.NOTIFICATION_RETENTION_DAYS, now):
        pruned["notifications"] = notifications_prune(read_before=cutoff, deadline=deadline)
    if cutoff := _cutoff(settings.WEBHOOK_DELIVERY_RETENTION_DAYS, now):
        pruned["webhook_deliveries"] = webhook_deliveries_prune(older_than=cutoff, deadline=deadline)
    pruned["changes"] = changes_prune(older_than=_cutoff(settings.UNDO_RETENTION_DAYS, now),
                                      keep_per_user=settings.UNDO_HISTORY_PER_USER, deadline=deadline)
    pruned["idempotency_keys"] = idempotency_keys_prune(
        older_than=(now or timezone.now()) - timedelta(hours=settings.IDEMPOTENCY_KEY_TTL_HOURS), deadline=deadline)
    return pruned
