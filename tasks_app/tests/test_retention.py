"""Retention: what is past its window goes, in bounded batches; nothing still needed goes with it."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from chat_app import retention as chat_retention
from chat_app.models import Conversation, Message
from tasks_app import services
from tasks_app.models import AuditLog, Notification, OutboxEvent

pytestmark = pytest.mark.django_db

NOW = timezone.now()
LONG_AGO = NOW - timedelta(days=400)


def event(user, title, *, published_days_ago=None, audited=True):
    task = services.task_create(user=user, title=title)
    row = OutboxEvent.objects.get(task_id=task.pk)
    if published_days_ago is not None:
        OutboxEvent.objects.filter(pk=row.pk).update(published_at=NOW - timedelta(days=published_days_ago))
    if audited:
        services.audit_record(event_id=row.event_id)
    return row.pk


def test_outbox_keeps_unpublished_recent_and_unaudited_rows(alice, settings):
    old = event(alice, "old", published_days_ago=8)
    recent = event(alice, "recent", published_days_ago=6)
    unpublished = event(alice, "never sent")
    OutboxEvent.objects.filter(pk=unpublished).update(created_at=LONG_AGO)
    unaudited = event(alice, "not audited", published_days_ago=30, audited=False)
    assert services.retention_prune(now=NOW)["outbox"] == 1
    assert set(OutboxEvent.objects.values_list("pk", flat=True)) == {recent, unpublished, unaudited}
    assert old not in set(OutboxEvent.objects.values_list("pk", flat=True))


def test_audit_rows_and_read_notifications_past_their_window_go(alice):
    event(alice, "a")
    event(alice, "b")
    AuditLog.objects.filter(pk=AuditLog.objects.order_by("pk").first().pk).update(occurred_at=LONG_AGO)
    read_old = Notification.objects.create(user=alice, message="read long ago")
    read_recent = Notification.objects.create(user=alice, message="read yesterday")
    unread_old = Notification.objects.create(user=alice, message="never read")
    Notification.objects.filter(pk=read_old.pk).update(read_at=NOW - timedelta(days=31))
    Notification.objects.filter(pk=read_recent.pk).update(read_at=NOW - timedelta(days=1))
    Notification.objects.filter(pk=unread_old.pk).update(created_at=LONG_AGO)
    pruned = services.retention_prune(now=NOW)
    assert (pruned["audit"], pruned["notifications"]) == (1, 1)
    assert AuditLog.objects.count() == 1
    assert set(Notification.objects.values_list("pk", flat=True)) == {read_recent.pk, unread_old.pk}


def test_idle_conversations_go_with_their_messages(alice, bob):
    idle = Conversation.objects.create(user=alice, title="idle")
    active = Conversation.objects.create(user=bob, title="active")
    for conversation in (idle, active):
        for n in range(3):
            Message.objects.create(conversation=conversation, role="user", content=f"m{n}")
    Conversation.objects.filter(pk=idle.pk).update(updated_at=NOW - timedelta(days=181))
    assert chat_retention.conversations_prune(now=NOW) == 1
    assert list(Conversation.objects.all()) == [active]
    assert Message.objects.filter(conversation_id=idle.pk).count() == 0
    assert Message.objects.count() == 3


def test_pruning_is_batched_and_bounded_per_run(alice, settings):
    settings.RETENTION_BATCH_SIZE, settings.RETENTION_MAX_BATCHES = 3, 2
    for n in range(10):
        Notification.objects.create(user=alice, message=f"n{n}")
    Notification.objects.update(read_at=LONG_AGO)
    with CaptureQueriesContext(connection) as captured:
        assert services.retention_prune(now=NOW)["notifications"] == 6
    deletes = [q["sql"] for q in captured.captured_queries if q["sql"].startswith("DELETE FROM \"tasks_app_notification")]
    assert len(deletes) == 2 and all("LIMIT 3" in sql for sql in deletes)
    assert services.retention_prune(now=NOW)["notifications"] == 4
    assert not Notification.objects.exists()


def test_a_window_of_zero_keeps_forever(alice, settings):
    settings.NOTIFICATION_RETENTION_DAYS = 0
    settings.CONVERSATION_RETENTION_DAYS = 0
    Notification.objects.create(user=alice, message="kept", read_at=LONG_AGO)
    Conversation.objects.filter(pk=Conversation.objects.create(user=alice).pk).update(updated_at=LONG_AGO)
    assert "notifications" not in services.retention_prune(now=NOW)
    assert chat_retention.conversations_prune(now=NOW) == 0
    assert Notification.objects.count() == 1 and Conversation.objects.count() == 1
