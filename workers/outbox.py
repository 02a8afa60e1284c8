"""The Kafka sink: outbox rows → Kafka, in id order, marked published once acknowledged.

One sink runs at a time (a PostgreSQL advisory lock), which keeps every task's
events in commit order on its partition.  Sending is pipelined: the next batch
is read and produced while the broker acknowledges the previous ones, and rows
are marked published as their acknowledgements arrive.  Delivery is at least
once: a crash between the broker's acknowledgement and the UPDATE re-sends the
same CloudEvent (same id) on the next run.  What is sent (topics, bodies,
headers) is tasks_app.events' business; this module only moves rows to Kafka.

A poison event never blocks the sink (issue 11).  Errors are handled per message
and classified (`classify`): an error of the message itself (too large, invalid,
cannot be serialised) parks the row at once (`parked_at`, with `last_error`); an
error that says nothing about the message (broker down, time-outs, authorisation,
unknown topic) only counts an attempt and never parks; any other error parks the
row once it has failed OUTBOX_MAX_ATTEMPTS times.  Parked rows are left out of the
sink's scan, so later events (of every user) go on; the admin un-parks them.
Batches are bounded by bytes (OUTBOX_BATCH_MAX_BYTES, from the database-computed
`payload_bytes`, so nothing is loaded to size it) as well as rows, and a row larger
than the producer's message.max.bytes is parked without being read.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass, field

from confluent_kafka import KafkaException
from django.conf import settings
from django.db import connection
from django.db.models import Case, DateTimeField, F, When
from django.db.models.functions import Now

from tasks_app.events import kafka_messages
from tasks_app.models import OutboxEvent

from . import kafka, metrics

logger = logging.getLogger(__name__)

# pg_try_advisory_lock key: "todo outb".
SINK_LOCK_KEY = 0x746F646F_6F757462
# Raw SQL names the table through the model.
OUTBOX_TABLE = connection.ops.quote_name(OutboxEvent._meta.db_table)

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


# How a failed message is treated (see the module's docstring).
PERMANENT, TRANSIENT, FAILING = "permanent", "transient", "failing"

# Errors of the message itself: sending it again cannot succeed.
PERMANENT_ERRORS = frozenset({
    "MSG_SIZE_TOO_LARGE", "INVALID_MSG_SIZE", "RECORD_LIST_TOO_LARGE", "INVALID_MSG",
    "INVALID_RECORD", "_BAD_MSG", "_INVALID_ARG", "_INVALID_TYPE", "_KEY_SERIALIZATION",
    "_VALUE_SERIALIZATION", "INVALID_TIMESTAMP",
})
# Errors of the broker, the network or the configuration: every message would fail alike, so they
# never park anything (librdkafka calls some of them non-retriable, e.g. _MSG_TIMED_OUT).
TRANSIENT_ERRORS = frozenset({
    "_MSG_TIMED_OUT", "_TIMED_OUT", "_TIMED_OUT_QUEUE", "_TRANSPORT", "_ALL_BROKERS_DOWN", "_RESOLVE", "_SSL",
    "_AUTHENTICATION", "_PURGE_QUEUE", "_PURGE_INFLIGHT", "_DESTROY", "_FATAL", "_FENCED", "_QUEUE_FULL",
    "_STATE", "_PREV_IN_PROGRESS", "_INCONSISTENT", "_GAPLESS_GUARANTEE", "_UNKNOWN_TOPIC", "_UNKNOWN_PARTITION",
    "_NOENT", "_WAIT_COORD", "_INTR", "_NODE_UPDATE",
    "UNKNOWN_TOPIC_OR_PART", "LEADER_NOT_AVAILABLE", "NOT_LEADER_FOR_PARTITION",
    "REQUEST_TIMED_OUT", "BROKER_NOT_AVAILABLE", "NETWORK_EXCEPTION", "NOT_ENOUGH_REPLICAS",
    "NOT_ENOUGH_REPLICAS_AFTER_APPEND", "KAFKA_STORAGE_ERROR", "NOT_CONTROLLER", "THROTTLING_QUOTA_EXCEEDED",
    "TOPIC_AUTHORIZATION_FAILED", "CLUSTER_AUTHORIZATION_FAILED", "TRANSACTIONAL_ID_AUTHORIZATION_FAILED",
    "SASL_AUTHENTICATION_FAILED", "ILLEGAL_SASL_STATE", "UNSUPPORTED_SASL_MECHANISM",
    "UNKNOWN_PRODUCER_ID", "OUT_OF_ORDER_SEQUENCE_NUMBER", "DUPLICATE_SEQUENCE_NUMBER", "INVALID_PRODUCER_EPOCH",
    "PRODUCER_FENCED",
})
NOT_ACKNOWLEDGED = "not acknowledged in time"
# Bytes a message takes beyond its key, value and headers (record and batch framing), when
# checking it against message.max.bytes.
MESSAGE_OVERHEAD = 128
# An upper bound of everything but the value: key (a task id, ≤ 64 characters) and headers
# (ce_id: a UUID, ce_type: ≤ 64 characters).  Only a value closer than this to the limit is measured.
MAX_BYTES_BESIDES_VALUE = MESSAGE_OVERHEAD + 64 + len("ce_id") + 36 + len("ce_type") + 64


def classify(err) -> str:
    """PERMANENT, TRANSIENT or FAILING for a confluent_kafka.KafkaError."""
    name = err.name()
    if name in PERMANENT_ERRORS:
        return PERMANENT
    if name in TRANSIENT_ERRORS or err.retriable():
        return TRANSIENT
    return FAILING


def _describe(err) -> str:
    return f"{err.name()}: {err.str()}"


def message_size(key: bytes, value: bytes, headers: dict) -> int:
    """What librdkafka counts against message.max.bytes, framing included (a close upper bound)."""
    return len(key) + len(value) + sum(len(name) + len(val) for name, val in headers.items()) + MESSAGE_OVERHEAD


@dataclass
class SinkResult:
    published: int = 0
    failed: int = 0
    parked: int = 0
    skipped: bool = False  # another sink held the lock
    # Payload bytes of each batch read from the outbox (each ≤ OUTBOX_BATCH_MAX_BYTES, or a single row).
    batch_bytes: list[int] = field(default_factory=list)


@dataclass
class _Round:
    """Acknowledgements of one drain, filled in by librdkafka's callbacks (run in this thread)."""

    acks: dict[int, int] = field(default_factory=dict)  # event pk → messages acknowledged
    expected: dict[int, int] = field(default_factory=dict)  # event pk → messages produced
    acked: list[int] = field(default_factory=list)  # fully delivered, not yet marked
    errors: dict[int, tuple[str, str]] = field(default_factory=dict)  # pk → (kind, error)
    topics: dict[str, int] = field(default_factory=dict)
    delivery_failed: bool = False  # the broker failed a message: stop this round, renew the producer
    back_off: bool = False  # a failure other than a message to park: stop, and wait for the next run

    def fail(self, pk: int, kind: str, error: str) -> None:
        if pk not in self.errors:
            self.errors[pk] = (kind, error)
            self.back_off = self.back_off or kind != PERMANENT

    def callback(self, pk: int, topic: str):
        def on_delivery(err, msg):
            if err is not None:
                self.delivery_failed = True
                self.fail(pk, classify(err), _describe(err))
                return
            self.topics[topic] = self.topics.get(topic, 0) + 1
            self.acks[pk] = self.acks.get(pk, 0) + 1
            if self.acks[pk] == self.expected[pk]:
                self.acked.append(pk)
        return on_delivery


# Ids of pending rows fetched per round (a list of integers: cheap to hold).
PENDING_IDS_PER_ROUND = 100_000


PENDING_SQL = (f"SELECT id, payload_bytes FROM {OUTBOX_TABLE} "
               "WHERE published_at IS NULL AND parked_at IS NULL AND id > %s ORDER BY id LIMIT %s")


def _pending_sizes(after_id: int) -> list[tuple[int, int]]:
    # The ids and sizes alone, once per round: with stale statistics (an outage's backlog has
    # just landed) PostgreSQL may sort every pending row to answer a LIMIT, so do that once,
    # on narrow rows (index-only: `outbox_unpublished` includes the sizes), not for every batch.
    with connection.cursor() as cursor:
        cursor.execute(PENDING_SQL, [after_id, PENDING_IDS_PER_ROUND])
        return cursor.fetchall()


def _pending_ids(after_id: int) -> list[int]:
    return [pk for pk, _ in _pending_sizes(after_id)]


def _batches(pending: list[tuple[int, int]], too_large: dict[int, str]):
    """Split (id, payload bytes) into (ids, bytes) batches of at most OUTBOX_BATCH_SIZE rows and
    OUTBOX_BATCH_MAX_BYTES bytes (a single larger row goes alone); rows whose payload
    alone exceeds the producer's message.max.bytes go to `too_large`, unread."""
    max_rows, max_bytes = settings.OUTBOX_BATCH_SIZE, settings.OUTBOX_BATCH_MAX_BYTES
    max_message = settings.KAFKA_MESSAGE_MAX_BYTES
    batch: list[int] = []
    batch_bytes = 0
    for pk, size in pending:
        if size > max_message:
            too_large[pk] = (f"MSG_SIZE_TOO_LARGE: payload of {size} bytes exceeds message.max.bytes "
                             f"(KAFKA_MESSAGE_MAX_BYTES={max_message}); not sent")
            continue
        if batch and (len(batch) >= max_rows or batch_bytes + size > max_bytes):
            yield batch, batch_bytes
            batch, batch_bytes = [], 0
        batch.append(pk)
        batch_bytes += size
    if batch:
        yield batch, batch_bytes


def _rows(ids: list[int]) -> list[tuple]:
    # The payload as text: the task-events message is sent byte for byte as stored.
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, event_id::text, type, topic, key, user_id, task_id, payload::text "
                       f"FROM {OUTBOX_TABLE} WHERE id = ANY(%s) ORDER BY id", [ids])
        return cursor.fetchall()


def _pending(after_id: int, limit: int) -> list[tuple]:
    """Up to `limit` unpublished rows after `after_id`, in id order."""
    ids = _pending_ids(after_id)[:limit]
    return _rows(ids) if ids else []


def messages(row: tuple) -> list[tuple[str, bytes, bytes, dict[str, str]]]:
    """(topic, key, value, headers) of the Kafka messages for one `_rows` row."""
    _pk, event_id, event_type, topic, key, user_id, task_id, payload_text = row
    return kafka_messages(event_id=event_id, event_type=event_type, topic=topic, key=key, user_id=user_id,
                          task_id=task_id, payload_text=payload_text)


def _send(producer, round_: _Round, row: tuple, limit: int) -> bool:
    """Produce one row's messages; False if the row failed at once (its error is in `round_`).
    `limit` is the producer's message.max.bytes."""
    pk = row[0]
    try:
        built = messages(row)
    except Exception as exc:  # a payload that cannot be turned into messages: it never will be
        round_.fail(pk, PERMANENT, f"serialisation: {type(exc).__name__}: {exc}")
        return False
    for topic, key, value, headers in built:
        if len(value) > limit - MAX_BYTES_BESIDES_VALUE and (size := message_size(key, value, headers)) > limit:
            round_.fail(pk, PERMANENT, f"MSG_SIZE_TOO_LARGE: {topic} message of {size} bytes exceeds "
                                       f"message.max.bytes (KAFKA_MESSAGE_MAX_BYTES={limit}); not sent")
            return False
    round_.expected[pk] = len(built)
    try:
        for topic, key, value, headers in built:
            _produce(producer, topic, key, value, headers, round_.callback(pk, topic))
    except KafkaException as exc:  # refused by the client before sending
        err = exc.args[0]
        round_.fail(pk, classify(err), _describe(err))
        return False
    except (TypeError, ValueError) as exc:
        round_.fail(pk, PERMANENT, f"serialisation: {type(exc).__name__}: {exc}")
        return False
    return True


def _produce(producer, topic: str, key: bytes, value: bytes, headers: dict, on_delivery) -> None:
    while True:
        try:
            producer.produce(topic, key=key, value=value, headers=headers, on_delivery=on_delivery)
            return
        except BufferError:  # local queue full: serve acknowledgements to make room
            producer.poll(0.05)


class _Marker:
    """Marks acknowledged rows published.  Acknowledgements that come in while rows are still being
    read and produced are marked from a thread of its own (started by the first of them), so
    PostgreSQL writes overlap with that work instead of adding to it.  A round whose acknowledgements
    all come in at its final flush — a commit's few events, the usual case — marks them on the sink's
    own connection: no thread, and no database connection opened for it."""

    def __init__(self, result: SinkResult):
        self.result = result
        self.queue: queue.Queue[list[int] | None] = queue.Queue()
        self.error: BaseException | None = None
        self.thread: threading.Thread | None = None

    def mark(self, round_: _Round) -> None:
        if round_.acked:
            acked, round_.acked = round_.acked, []
            if self.thread is None:
                self.thread = threading.Thread(target=self._run, name="outbox-marker", daemon=True)
                self.thread.start()
            self.queue.put(acked)

    def _update(self, acked: list[int]) -> None:
        with connection.cursor() as cursor:
            # = ANY(array): one parameter, however many ids (an IN list binds one each).
            cursor.execute(f"UPDATE {OUTBOX_TABLE} SET published_at = clock_timestamp() "
                           "WHERE id = ANY(%s) AND published_at IS NULL", [acked])
        self.result.published += len(acked)

    def _run(self) -> None:
        try:
            while (acked := self.queue.get()) is not None:
                self._update(acked)
        except BaseException as exc:  # re-raised in the sink's thread by close()
            self.error = exc
        finally:
            connection.close()  # this thread's own

    def close(self, round_: _Round) -> None:
        """Mark the round's last acknowledgements, and wait until every mark is written."""
        if self.thread is None:
            if round_.acked:
                acked, round_.acked = round_.acked, []
                self._update(acked)
            return
        self.mark(round_)
        self.queue.put(None)
        self.thread.join()
        if self.error is not None:
            raise self.error


def _drain(result: SinkResult, deadline: float) -> bool:
    """One round; True if it must back off (a failure other than parked messages)."""
    round_ = _Round()
    produced: list[int] = []
    too_large: dict[int, str] = {}
    marker = _Marker(result)
    try:
        producer = _get_producer()
        limit = settings.KAFKA_MESSAGE_MAX_BYTES
        after_id = 0
        while time.monotonic() < deadline and not round_.delivery_failed and not round_.back_off:
            pending = _pending_sizes(after_id)
            if not pending:
                break
            for batch, batch_bytes in _batches(pending, too_large):
                if time.monotonic() >= deadline or round_.delivery_failed or round_.back_off:
                    break
                rows = _rows(batch)
                result.batch_bytes.append(batch_bytes)
                for row in rows:
                    if _send(producer, round_, row, limit):
                        produced.append(row[0])
                del rows
                producer.poll(0)
                marker.mark(round_)
            after_id = pending[-1][0]
        if producer.flush(settings.KAFKA_DELIVERY_TIMEOUT_SECONDS + 5):
            for pk in produced:
                if round_.acks.get(pk, 0) < round_.expected[pk]:
                    round_.fail(pk, TRANSIENT, NOT_ACKNOWLEDGED)
    except Exception as exc:  # broker unreachable while creating topics or the producer
        for pk in produced or _pending_ids(0)[:settings.OUTBOX_BATCH_SIZE]:
            round_.fail(pk, TRANSIENT, f"{type(exc).__name__}: {exc}")
    finally:
        marker.close(round_)
        for pk, error in too_large.items():
            round_.fail(pk, PERMANENT, error)
        result.parked += _record_failures(round_.errors)
        metrics.record_publish(round_.topics, len(round_.errors))
    result.failed += len(round_.errors)
    if round_.back_off:
        error = next(error for kind, error in round_.errors.values() if kind != PERMANENT)
        logger.warning("kafka sink: %d events not delivered (%s); will retry", len(round_.errors), error)
    if round_.delivery_failed or round_.back_off:
        _discard_producer()
    return round_.back_off


def _record_failures(errors: dict[int, tuple[str, str]]) -> int:
    """Count an attempt on each failed row, with its error; park what cannot succeed.  Returns the
    number of rows parked."""
    groups: dict[tuple[str, str], list[int]] = {}
    for pk, (kind, error) in errors.items():
        groups.setdefault((kind, error[:2000]), []).append(pk)
    parked = 0
    for (kind, error), pks in groups.items():
        rows = OutboxEvent.objects.filter(pk__in=pks, published_at__isnull=True, parked_at__isnull=True)
        if kind == TRANSIENT:
            rows.update(attempts=F("attempts") + 1, last_error=error)
            continue
        if kind == PERMANENT:
            parked_at = Now()
        else:  # FAILING: parked on its OUTBOX_MAX_ATTEMPTS-th failure
            parked_at = Case(When(attempts__gte=settings.OUTBOX_MAX_ATTEMPTS - 1, then=Now()), default=None,
                             output_field=DateTimeField())
        rows.update(attempts=F("attempts") + 1, last_error=error, parked_at=parked_at)
        newly = list(OutboxEvent.objects.filter(pk__in=pks, parked_at__isnull=False, published_at__isnull=True)
                     .values_list("pk", flat=True))
        for pk in newly:
            logger.error("kafka sink: outbox event %s parked (%s): %s", pk, kind, error)
        parked += len(newly)
    return parked


def publish_pending(*, max_seconds: float = 50.0, after_round=None) -> SinkResult:
    """Publish pending outbox rows until none are left (or `max_seconds` pass).  `after_round()` runs
    after each round, however it ended, once the lock is released and before looking whether rows
    came in meanwhile (workers.tasks.publish_outbox releases the sink's kick there); not when another
    sink holds the lock."""
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
            back_off = _drain(result, deadline)
        finally:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [SINK_LOCK_KEY])
            if after_round is not None:
                after_round()
        # An event committed while we were releasing the lock may have had its own
        # sink run bounce off our lock: look once more before leaving.  (A round that only
        # parked messages goes straight on with the rest.)
        if back_off or time.monotonic() >= deadline or not _pending_exists():
            return result


def _pending_exists() -> bool:
    return OutboxEvent.objects.filter(published_at__isnull=True, parked_at__isnull=True).exists()
