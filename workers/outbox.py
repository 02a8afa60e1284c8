"""The Kafka sink: outbox rows → Kafka, in id order, marked published once acknowledged.

One sink runs at a time (a PostgreSQL advisory lock), which keeps every task's
events in commit order on its partition.  Delivery is at least once: a crash
between the broker's acknowledgement and the UPDATE re-sends the same
CloudEvent (same id) on the next run.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from tasks_app.events import TOPIC_TASK_UPDATES, live_update
from tasks_app.models import OutboxEvent

from . import kafka, metrics

logger = logging.getLogger(__name__)

# pg_try_advisory_lock key: "todo outbox sink".
SINK_LOCK_KEY = 0x746F646F_6F757462

_producer = None


def _get_producer():
    global _producer
    if _producer is None:
        kafka.ensure_topics(timeout=settings.KAFKA_DELIVERY_TIMEOUT_SECONDS)
        _producer = kafka.new_producer()
    return _producer


def _discard_producer() -> None:
    """Drop the producer after a failed delivery.

    After a broker restart an idempotent producer can stay wedged (the broker no
    longer knows its producer id and every send times out); a fresh one works.
    Purge first, so nothing the old one still holds is delivered behind our back.
    """
    global _producer
    if _producer is not None:
        try:
            _producer.purge(in_queue=True, in_flight=True, blocking=False)
            _producer.flush(0)
        except Exception:  # a wedged client may refuse even this; it is discarded either way
            logger.debug("purging the discarded producer failed", exc_info=True)
        _producer = None


@dataclass
class SinkResult:
    published: int = 0
    failed: int = 0
    skipped: bool = False  # another sink held the lock


def _messages(event: OutboxEvent) -> list[tuple[str, bytes]]:
    """The event on its own topic, plus its compact form on task-updates for live views."""
    messages = [(event.topic, json.dumps(event.payload, separators=(",", ":")).encode())]
    messages.append((TOPIC_TASK_UPDATES, json.dumps(live_update(event), separators=(",", ":")).encode()))
    return messages


def _publish_batch(batch: list[OutboxEvent]) -> tuple[list[int], dict[int, str]]:
    producer = _get_producer()
    errors: dict[int, str] = {}
    pending = {event.pk: 0 for event in batch}

    def on_delivery(event_pk):
        def callback(err, msg):
            if err is not None:
                errors.setdefault(event_pk, str(err))
            else:
                pending[event_pk] += 1
        return callback

    expected = {}
    for event in batch:
        messages = _messages(event)
        expected[event.pk] = len(messages)
        for topic, value in messages:
            while True:
                try:
                    producer.produce(topic, key=event.key.encode(), value=value,
                                     headers={"ce_id": str(event.event_id), "ce_type": event.type},
                                     on_delivery=on_delivery(event.pk))
                    break
                except BufferError:  # local queue full: let it drain
                    producer.poll(0.1)
    remaining = producer.flush(settings.KAFKA_DELIVERY_TIMEOUT_SECONDS + 5)
    delivered = [pk for pk, count in pending.items() if count == expected[pk] and pk not in errors]
    for pk in pending:
        if pk not in delivered and pk not in errors:
            errors[pk] = "not acknowledged in time" if remaining else "delivery incomplete"
    return delivered, errors


def publish_pending(*, max_seconds: float = 50.0) -> SinkResult:
    """Publish unpublished outbox rows until none are left (or `max_seconds` pass)."""
    result = SinkResult()
    deadline = time.monotonic() + max_seconds
    while True:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [SINK_LOCK_KEY])
            locked = cursor.fetchone()[0]
        if not locked:
            result.skipped = True
            return result
        try:
            _drain(result, deadline)
        finally:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [SINK_LOCK_KEY])
        # An event committed while we were releasing the lock may have had its own
        # sink run bounce off our lock: look once more before leaving.
        if result.failed or time.monotonic() >= deadline or not _pending_exists():
            return result


def _pending_exists() -> bool:
    return OutboxEvent.objects.filter(published_at__isnull=True).exists()


def _drain(result: SinkResult, deadline: float) -> None:
    while time.monotonic() < deadline:
        batch = list(OutboxEvent.objects.filter(published_at__isnull=True).order_by("id")[:settings.OUTBOX_BATCH_SIZE])
        if not batch:
            return
        try:
            delivered, errors = _publish_batch(batch)
        except Exception as exc:  # broker unreachable while creating topics or the producer
            delivered, errors = [], {event.pk: f"{type(exc).__name__}: {exc}" for event in batch}
        with transaction.atomic():
            if delivered:
                OutboxEvent.objects.filter(pk__in=delivered).update(published_at=timezone.now())
            if errors:
                OutboxEvent.objects.filter(pk__in=list(errors)).update(
                    attempts=F("attempts") + 1, last_error=next(iter(errors.values()))[:2000])
        result.published += len(delivered)
        metrics.record_publish(batch, delivered, errors)
        if errors:
            result.failed += len(errors)
            logger.warning("kafka sink: %d of %d events not delivered (%s); will retry",
                           len(errors), len(batch), next(iter(errors.values())))
            _discard_producer()
            return
