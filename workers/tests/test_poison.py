"""A poison event never blocks the sink (issue 11), and the sink's memory stays flat whatever the payloads.

Real services throughout: the suite's PostgreSQL, Redis and Kafka-protocol broker, a real Celery
worker or the sink called in this process with a real producer.  The poison rows are written
through `tasks_app.events.record` with a large snapshot (the services will refuse such
descriptions; a row written before that, or under a larger configured limit, must not wedge the
pipeline either).
"""

from __future__ import annotations

import tracemalloc
from collections import Counter

import pytest
from confluent_kafka import KafkaError
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families

from devstack.servers import free_port
from devstack.testing import internal_get, read_topic, wait_until
from tasks_app import events, services
from tasks_app.models import OutboxEvent
from workers import outbox
from workers import tasks as jobs


def record_large(task, size: int) -> OutboxEvent:
    """An update event of `task` whose snapshot carries a `size`-character description."""
    with transaction.atomic():
        return events.record(events.TASK_UPDATED, task,
                             snapshot={**events.task_snapshot(task), "description": "x" * size},
                             changes={"description": {"old": "", "new": "(large)"}})


def scrape_parked() -> float:
    """The parked-events gauge as the web process's internal /metrics serves it."""
    families = {f.name: f for f in text_string_to_metric_families(internal_get("/metrics")[1])}
    return sum(sample.value for sample in families["todo_outbox_parked_events"].samples)


@pytest.fixture
def fresh_producer():
    """The sink's producer is a module global: start and end with none, so settings apply."""
    outbox._discard_producer()
    yield
    outbox._discard_producer()


def test_a_too_large_event_is_parked_and_every_later_event_still_reaches_kafka(celery_worker_process, alice, bob):
    first = services.task_create(user=alice, title="Before the poison")
    poison = record_large(first, 1_100_000)
    later = [services.task_create(user=bob, title=f"After the poison {n}") for n in range(3)]
    services.task_update(task=later[0], title="After the poison, renamed")
    services.task_complete(task=later[1])

    poison.refresh_from_db()
    assert poison.payload_bytes > 1_100_000 > settings.KAFKA_MESSAGE_MAX_BYTES
    others = OutboxEvent.objects.exclude(pk=poison.pk)
    wait_until(lambda: not others.filter(published_at__isnull=True).exists(), timeout=60,
               message="every other event published")
    wait_until(lambda: OutboxEvent.objects.get(pk=poison.pk).parked_at, message="the poison event parked")
    poison.refresh_from_db()
    assert poison.published_at is None and poison.attempts == 1
    assert "MSG_SIZE_TOO_LARGE" in poison.last_error and "KAFKA_MESSAGE_MAX_BYTES" in poison.last_error

    wanted = {str(e) for e in others.values_list("event_id", flat=True)}
    messages = read_topic(settings.KAFKA_BOOTSTRAP_SERVERS, "task-events",
                          until=lambda got: wanted <= {value["id"] for *_, value in got})
    ids = Counter(value["id"] for *_, value in messages)
    assert wanted <= set(ids), "bob's later events reached Kafka"
    assert str(poison.event_id) not in ids
    assert all(ids[event_id] == 1 for event_id in wanted)

    # The metric, then the admin action that un-parks it; the sink parks it again (it is still too large).
    web = Client()
    assert scrape_parked() == 1
    operator = get_user_model().objects.create_superuser("operator", "op@example.com", "op-Password-1")
    web.force_login(operator)
    assert web.get("/admin/tasks_app/outboxevent/?parked_at__isempty=0").status_code == 200
    response = web.post("/admin/tasks_app/outboxevent/", {"action": "retry_parked", "_selected_action": [poison.pk]})
    assert response.status_code == 302
    poison.refresh_from_db()
    assert poison.parked_at is None and poison.attempts == 0
    assert scrape_parked() == 0
    jobs.publish_outbox.delay()
    wait_until(lambda: OutboxEvent.objects.get(pk=poison.pk).parked_at, message="parked again by the next run")
    after = services.task_create(user=bob, title="After the retry")
    wait_until(lambda: OutboxEvent.objects.filter(task_id=after.pk, published_at__isnull=False).exists(),
               message="a later event still published")


def test_batches_are_bounded_by_bytes_and_memory_stays_flat(transactional_db, alice, settings, fresh_producer):
    settings.OUTBOX_BATCH_MAX_BYTES = 1_000_000
    task = services.task_create(user=alice, title="Large but deliverable")
    rows = [record_large(task, 200_000) for _ in range(60)]  # 12 MB of payloads, each 200 KB
    sizes = dict(OutboxEvent.objects.filter(published_at__isnull=True).values_list("pk", "payload_bytes"))
    assert len(sizes) == 61 and sum(sizes.values()) > 12_000_000

    tracemalloc.start()
    try:
        result = outbox.publish_pending(max_seconds=120)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.published == 61 and not result.failed and not result.parked
    assert not OutboxEvent.objects.filter(published_at__isnull=True).exists()
    assert sum(result.batch_bytes) == sum(sizes.values()), "every payload read once, and counted"
    assert max(result.batch_bytes) <= settings.OUTBOX_BATCH_MAX_BYTES
    assert len(result.batch_bytes) >= 13  # 200 KB rows, at most 4 per 1 MB batch
    # Python's allocations while sending 12 MB: about one batch (its text, bytes and live messages).
    assert peak < 5 * settings.OUTBOX_BATCH_MAX_BYTES, f"peak {peak} bytes"

    wanted = [str(row.event_id) for row in rows]
    messages = read_topic(settings.KAFKA_BOOTSTRAP_SERVERS, "task-events",
                          until=lambda got: set(wanted) <= {value["id"] for *_, value in got})
    arrived = [value["id"] for *_, value in messages if value["id"] in set(wanted)]
    assert arrived == wanted, "all of them, once, in order (one task: one partition)"


def test_a_message_over_the_limit_with_its_headers_is_parked_after_reading(transactional_db, alice, settings,
                                                                             fresh_producer):
    """The payload alone fits message.max.bytes, the message with key, headers and framing does not:
    caught when the row is read, before producing; the next row of the same task goes out."""
    settings.KAFKA_MESSAGE_MAX_BYTES = 60_000
    task = services.task_create(user=alice, title="Borderline")
    overhead = record_large(task, 0).payload_bytes
    borderline = record_large(task, settings.KAFKA_MESSAGE_MAX_BYTES - overhead - 20)
    following = services.task_update(task=task, title="Borderline, renamed")
    borderline.refresh_from_db()
    assert borderline.payload_bytes <= settings.KAFKA_MESSAGE_MAX_BYTES

    result = outbox.publish_pending(max_seconds=60)
    assert result.parked == 1 and result.published == 3
    borderline.refresh_from_db()
    assert borderline.parked_at and "task-events message of" in borderline.last_error
    assert OutboxEvent.objects.get(task_id=following.pk, type=events.TASK_UPDATED,
                                   payload__data__changes__has_key="title").published_at


def test_a_broker_outage_never_parks_anything(transactional_db, alice, settings, fresh_producer):
    settings.KAFKA_BOOTSTRAP_SERVERS = f"127.0.0.1:{free_port()}"  # nothing listens there
    settings.KAFKA_DELIVERY_TIMEOUT_SECONDS = 1
    settings.OUTBOX_MAX_ATTEMPTS = 2
    services.task_create(user=alice, title="Written while Kafka is down")
    for _ in range(settings.OUTBOX_MAX_ATTEMPTS + 1):
        result = outbox.publish_pending(max_seconds=10)
        assert result.failed == 1 and not result.parked
    event = OutboxEvent.objects.get()
    assert event.attempts == settings.OUTBOX_MAX_ATTEMPTS + 1 and event.parked_at is None
    assert event.last_error


@pytest.mark.django_db
def test_errors_are_classified_by_what_they_say_about_the_message(alice, settings):
    assert outbox.classify(KafkaError(KafkaError.MSG_SIZE_TOO_LARGE)) == outbox.PERMANENT
    assert outbox.classify(KafkaError(KafkaError.INVALID_RECORD)) == outbox.PERMANENT
    for code in (KafkaError._MSG_TIMED_OUT, KafkaError._TRANSPORT, KafkaError._ALL_BROKERS_DOWN,
                 KafkaError.TOPIC_AUTHORIZATION_FAILED, KafkaError.UNKNOWN_TOPIC_OR_PART,
                 KafkaError.NOT_ENOUGH_REPLICAS, KafkaError.UNKNOWN_PRODUCER_ID, KafkaError._PURGE_INFLIGHT):
        assert outbox.classify(KafkaError(code)) == outbox.TRANSIENT, KafkaError(code).name()
    assert outbox.classify(KafkaError(KafkaError.INVALID_REQUIRED_ACKS)) == outbox.FAILING

    # FAILING parks on the OUTBOX_MAX_ATTEMPTS-th failure; TRANSIENT never; PERMANENT at once.
    settings.OUTBOX_MAX_ATTEMPTS = 3
    task = services.task_create(user=alice, title="Classified")
    failing, transient, permanent = (record_large(task, 10) for _ in range(3))
    for round_ in range(1, 6):
        outbox._record_failures({failing.pk: (outbox.FAILING, "INVALID_REQUIRED_ACKS: odd"),
                                 transient.pk: (outbox.TRANSIENT, "_MSG_TIMED_OUT: Local: Message timed out")})
        failing.refresh_from_db()
        assert (failing.parked_at is not None) == (round_ >= 3)
        assert failing.attempts == min(round_, 3), "a parked row is no longer counted"
    transient.refresh_from_db()
    assert transient.attempts == 5 and transient.parked_at is None
    assert outbox._record_failures({permanent.pk: (outbox.PERMANENT, "serialisation: bad")}) == 1
    permanent.refresh_from_db()
    assert permanent.parked_at and permanent.attempts == 1 and permanent.last_error == "serialisation: bad"


@pytest.mark.django_db
def test_the_sink_scan_and_the_gauges_use_their_partial_indexes(alice):
    task = services.task_create(user=alice, title="Indexed")
    OutboxEvent.objects.update(published_at=task.created_at)
    parked = record_large(task, 10)
    OutboxEvent.objects.filter(pk=parked.pk).update(parked_at=task.created_at)
    record_large(task, 10)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE tasks_app_outboxevent")
        cursor.execute("SET LOCAL enable_seqscan = off")  # so a plan shows whether the partial index applies
        cursor.execute("EXPLAIN " + outbox.PENDING_SQL, [0, 100])
        plan = "\n".join(row[0] for row in cursor.fetchall())
        # Index-only once the table is vacuumed (the sizes are in the index); on these few fresh rows the
        # planner may also pick a plain or bitmap scan of it: what matters is that the partial index applies.
        assert "outbox_unpublished" in plan and "Seq Scan" not in plan, plan
        cursor.execute("EXPLAIN SELECT count(*) FROM tasks_app_outboxevent "
                       "WHERE published_at IS NULL AND parked_at IS NOT NULL")
        plan = "\n".join(row[0] for row in cursor.fetchall())
        assert "outbox_parked" in plan, plan
        cursor.execute(outbox.PENDING_SQL, [0, 100])
        assert [pk for pk, _ in cursor.fetchall()] == list(
            OutboxEvent.objects.filter(published_at__isnull=True, parked_at__isnull=True).values_list("pk", flat=True))
