"""The Kafka sink: outbox rows → Kafka, in id order, marked published once acknowledged.

One sink runs at a time (a PostgreSQL advisory lock), which keeps every task's
events in commit order on its partition.  Sending is pipelined: the next batch
is read and produced while the broker acknowledges the previous ones, and rows
are marked published as their acknowledgements arrive.  Delivery is at least
once: a crash between the broker's acknowledgement and the UPDATE re-sends the
same CloudEvent (same id) on the next run.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass, field

import orjson
from django.conf import settings
from django.db import connection
from django.db.models import F

from tasks_app.events import TOPIC_TASK_UPDATES, live_update
from tasks_app.models import OutboxEvent

from . import kafka, metrics

logger = logging.getLogger(__name__)

# pg_try_advisory_lock key: "todo outb".
SINK_LOCK_KEY = 0x746F646F_6F757462
MESSAGES_PER_EVENT = 2  # its own topic, and task-updates

_producer = None


def _get_producer():
    global _producer
    if _producer is None:
        kafka.ensure_topics(timeout=settings.KAFKA_DELIVERY_TIMEOUT_SECONDS)
        _producer = kafka.new_producer()
    return _producer


def warm_up() -> None:
    """Create the producer and fetch the cluster's metadata ahead of the first event."""
    _get_producer().list_topics(timeout=settings.KAFKA_DELIVERY_TIMEOUT_SECONDS)


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


@dataclass
class _Round:
    """Acknowledgements of one drain, filled in by librdkafka's callbacks (run in this thread)."""

    acks: dict[int, int] = field(default_factory=dict)  # event pk → messages acknowledged
    acked: list[int] = field(default_factory=list)  # fully delivered, not yet marked
    errors: dict[int, str] = field(default_factory=dict)
    topics: dict[str, int] = field(default_factory=dict)

    def callback(self, pk: int, topic: str):
        def on_delivery(err, msg):
            if err is not None:
                self.errors.setdefault(pk, str(err))
                return
            self.topics[topic] = self.topics.get(topic, 0) + 1
            self.acks[pk] = self.acks.get(pk, 0) + 1
            if self.acks[pk] == MESSAGES_PER_EVENT:
                self.acked.append(pk)
        return on_delivery


# Ids of pending rows fetched per round (a list of integers: cheap to hold).
PENDING_IDS_PER_ROUND = 100_000


def _pending_ids(after_id: int) -> list[int]:
    # The ids alone, once per round: with stale statistics (an outage's backlog has just
    # landed) PostgreSQL may sort every pending row to answer a LIMIT, so do that once,
    # on narrow rows, rather than for every batch.
    with connection.cursor() as cursor:
        cursor.execute("SELECT id FROM tasks_app_outboxevent WHERE published_at IS NULL AND id > %s "
                       "ORDER BY id LIMIT %s", [after_id, PENDING_IDS_PER_ROUND])
        return [row[0] for row in cursor.fetchall()]


def _rows(ids: list[int]) -> list[tuple]:
    # The payload as text: the task-events message is sent byte for byte as stored.
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, event_id::text, type, topic, key, user_id, task_id, payload::text "
                       "FROM tasks_app_outboxevent WHERE id = ANY(%s) ORDER BY id", [ids])
        return cursor.fetchall()


def _pending(after_id: int, limit: int) -> list[tuple]:
    """Up to `limit` unpublished rows after `after_id`, in id order."""
    ids = _pending_ids(after_id)[:limit]
    return _rows(ids) if ids else []


# CloudEvents Kafka protocol binding (https://github.com/cloudevents/spec, kafka-protocol-binding.md).
# The event topics use structured mode: the whole event is the value and `content-type` names
# the format.  They carry no ce_* headers: those mean binary mode, and an SDK that detects the
# mode (cloudevents.core.bindings.kafka.from_kafka) would read such a message as binary and fail.
STRUCTURED_HEADERS = {"content-type": "application/cloudevents+json"}


def _binary_headers(payload: dict) -> dict[str, str]:
    """Binary mode for task-updates: the event's attributes as ce_* headers, the compact
    message as its data, so the live stream is a CloudEvent too (same id, type and source)."""
    headers = {f"ce_{name}": str(payload[name]) for name in ("specversion", "id", "source", "type", "time", "subject")
               if payload.get(name) is not None}
    headers["content-type"] = "application/json"
    return headers


def messages(row: tuple) -> list[tuple[str, bytes, bytes, dict]]:
    """(topic, key, value, headers) of the messages for one `_pending` row: the
    CloudEvent on its topic, byte for byte, and its compact form on task-updates."""
    pk, event_id, event_type, topic, key, user_id, task_id, payload_text = row
    payload = orjson.loads(payload_text)
    live = live_update(event_id=event_id, event_type=event_type, task_id=task_id, user_id=user_id,
                       payload=payload)
    key_bytes = key.encode()
    return [(topic, key_bytes, payload_text.encode(), STRUCTURED_HEADERS),
            (TOPIC_TASK_UPDATES, key_bytes, orjson.dumps(live), _binary_headers(payload))]


def _produce(producer, topic: str, key: bytes, value: bytes, headers: dict, on_delivery) -> None:
    while True:
        try:
            producer.produce(topic, key=key, value=value, headers=headers, on_delivery=on_delivery)
            return
        except BufferError:  # local queue full: serve acknowledgements to make room
            producer.poll(0.05)


class _Marker:
    """Marks acknowledged rows published from a thread of its own, so PostgreSQL
    writes overlap with reading and producing the next rows instead of adding to them."""

    def __init__(self, result: SinkResult):
        self.result = result
        self.queue: queue.Queue[list[int] | None] = queue.Queue()
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="outbox-marker", daemon=True)
        self.thread.start()

    def mark(self, round_: _Round) -> None:
        if round_.acked:
            acked, round_.acked = round_.acked, []
            self.queue.put(acked)

    def _run(self) -> None:
        try:
            while (acked := self.queue.get()) is not None:
                with connection.cursor() as cursor:
                    # = ANY(array): one parameter, however many ids (an IN list binds one each).
                    cursor.execute("UPDATE tasks_app_outboxevent SET published_at = clock_timestamp() "
                                   "WHERE id = ANY(%s) AND published_at IS NULL", [acked])
                self.result.published += len(acked)
        except BaseException as exc:  # re-raised in the sink's thread by close()
            self.error = exc
        finally:
            connection.close()

    def close(self) -> None:
        self.queue.put(None)
        self.thread.join()
        if self.error is not None:
            raise self.error


def _drain(result: SinkResult, deadline: float) -> None:
    round_ = _Round()
    produced: list[int] = []
    marker = _Marker(result)
    try:
        producer = _get_producer()
        after_id = 0
        while time.monotonic() < deadline and not round_.errors:
            ids = _pending_ids(after_id)
            if not ids:
                break
            for start in range(0, len(ids), settings.OUTBOX_BATCH_SIZE):
                if time.monotonic() >= deadline or round_.errors:
                    break
                for row in _rows(ids[start:start + settings.OUTBOX_BATCH_SIZE]):
                    for topic, key, value, headers in messages(row):
                        _produce(producer, topic, key, value, headers, round_.callback(row[0], topic))
                    produced.append(row[0])
                producer.poll(0)
                marker.mark(round_)
            after_id = ids[-1]
        if producer.flush(settings.KAFKA_DELIVERY_TIMEOUT_SECONDS + 5):
            for pk in produced:
                if round_.acks.get(pk, 0) < MESSAGES_PER_EVENT:
                    round_.errors.setdefault(pk, "not acknowledged in time")
    except Exception as exc:  # broker unreachable while creating topics or the producer
        for pk in produced or [pk for pk, *_ in _pending(0, settings.OUTBOX_BATCH_SIZE)]:
            round_.errors.setdefault(pk, f"{type(exc).__name__}: {exc}")
    finally:
        marker.mark(round_)
        marker.close()
        if round_.errors:
            OutboxEvent.objects.filter(pk__in=list(round_.errors), published_at__isnull=True).update(
                attempts=F("attempts") + 1, last_error=next(iter(round_.errors.values()))[:2000])
        metrics.record_publish(round_.topics, len(round_.errors))
    if round_.errors:
        result.failed += len(round_.errors)
        logger.warning("kafka sink: %d events not delivered (%s); will retry", len(round_.errors),
                       next(iter(round_.errors.values())))
        _discard_producer()


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
