"""Retention of conversations: those idle longer than CONVERSATION_RETENTION_DAYS are deleted
with their messages, a batch of conversations per short transaction (see
tasks_app.services.retention for the pattern and the bounds)."""

from __future__ import annotations

import time
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from .models import Conversation, Message


def conversations_prune(*, now: datetime | None = None, deadline: float | None = None) -> int:
    """Delete conversations not updated for CONVERSATION_RETENTION_DAYS, and their messages."""
    if not settings.CONVERSATION_RETENTION_DAYS:
        return 0
    return conversations_idle_prune(
        idle_since=(now or timezone.now()) - timedelta(days=settings.CONVERSATION_RETENTION_DAYS),
        deadline=deadline if deadline is not None else time.monotonic() + 60)


def conversations_idle_prune(*, idle_since: datetime, deadline: float) -> int:
    conversations = connection.ops.quote_name(Conversation._meta.db_table)
    messages = connection.ops.quote_name(Message._meta.db_table)
    # A conversation holds many messages: fewer of them per batch keeps each transaction short.
    batch = max(1, settings.RETENTION_BATCH_SIZE // 10)
    total = 0
    for _ in range(settings.RETENTION_MAX_BATCHES):
        if time.monotonic() >= deadline:
            break
        with transaction.atomic(), connection.cursor() as cursor:
            # SKIP LOCKED: a conversation being written to right now is left for the next run.
            cursor.execute(f"SELECT id FROM {conversations} WHERE updated_at < %s ORDER BY updated_at LIMIT %s "
                           "FOR UPDATE SKIP LOCKED", [idle_since, batch])
            ids = [row[0] for row in cursor.fetchall()]
            if ids:
                cursor.execute(f"DELETE FROM {messages} WHERE conversation_id = ANY(%s)", [ids])
                cursor.execute(f"DELETE FROM {conversations} WHERE id = ANY(%s)", [ids])
        total += len(ids)
        if len(ids) < batch:
            break
    return total
