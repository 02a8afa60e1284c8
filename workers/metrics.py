"""Prometheus metrics of the background side: outbox lag, Kafka publishing, Celery jobs, reminder scans.

Job counters are prometheus_client metrics in the process that runs the job.  A Celery worker
runs jobs in prefork pool processes, so the worker runs in prometheus_client's multiprocess mode:
PROMETHEUS_MULTIPROC_DIR (set for worker processes by the launchers: the image's entrypoint,
`make run`, the chart) holds one small file per process and metric kind; the worker's own
endpoint (WORKER_METRICS_PORT) adds them all up at scrape time.  Each worker pod exports its own
totals, and the alert rules and the dashboard `sum` them across pods.  The worker empties the
folder when it starts (files of an earlier run would count twice) and marks each pool process
dead when it exits (celery_signals.py).

What is one shared state rather than per process work (the outbox in PostgreSQL, the Celery
queues in Redis) is read at scrape time by SharedStateCollector, registered both in the default
registry (the web's /metrics on the internal port) and in the worker's.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

import redis
from django.conf import settings
from django.db import connection
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, multiprocess
from prometheus_client.core import GaugeMetricFamily

from tasks_app.models import OutboxEvent

logger = logging.getLogger(__name__)

DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)

# The worker's registry: its job metrics and the shared state.  Not the default registry, so a web
# pod does not export job counters it never counts (they would only add zeros to the sums).
REGISTRY = CollectorRegistry(auto_describe=True)

KAFKA_EVENTS_PUBLISHED = Counter("todo_kafka_events_published", "Messages acknowledged by Kafka",
                                 ["topic"], registry=REGISTRY)
KAFKA_PUBLISH_FAILURES = Counter("todo_kafka_publish_failures", "Outbox events whose delivery failed",
                                 registry=REGISTRY)
CELERY_TASKS = Counter("todo_celery_tasks", "Celery jobs run, by outcome", ["task", "state"], registry=REGISTRY)
CELERY_TASK_DURATION = Histogram("todo_celery_task_duration_seconds", "Celery job run time", ["task"],
                                 buckets=DURATION_BUCKETS, registry=REGISTRY)
# A time stamp: the newest of all processes (and, in the rules, of all pods) is the one that counts.
REMINDER_SCAN_LAST_SUCCESS = Gauge("todo_reminder_scan_last_success_timestamp_seconds",
                                   "Unix time of the last completed reminder scan",
                                   multiprocess_mode="max", registry=REGISTRY)

_client: redis.Redis | None = None


def redis_client() -> redis.Redis:
    """This process's client for the app's Redis (the sink-kick flag, queue lengths): short time-outs,
    because neither may hold up the job it serves."""
    global _client
    if _client is None:
        _client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=1, socket_connect_timeout=1)
    return _client


def record_publish(acked_per_topic: dict[str, int], failures: int) -> None:
    for topic, count in acked_per_topic.items():
        KAFKA_EVENTS_PUBLISHED.labels(topic=topic).inc(count)
    if failures:
        KAFKA_PUBLISH_FAILURES.inc(failures)


def record_task(name: str, state: str, seconds: float | None) -> None:
    CELERY_TASKS.labels(task=name, state=state).inc()
    if seconds is not None:
        CELERY_TASK_DURATION.labels(task=name).observe(seconds)


def record_reminder_scan() -> None:
    REMINDER_SCAN_LAST_SUCCESS.set(time.time())


# --------------------------------------------------------------------------- multiprocess mode

def multiprocess_dir() -> Path | None:
    """PROMETHEUS_MULTIPROC_DIR when this process runs in multiprocess mode (a worker), else None."""
    value = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    return Path(value) if value else None


def clear_multiprocess_dir() -> int:
    """At worker start, before the pool forks: drop the files of every other process (an earlier
    run's totals would be added to this one's).  This process's own files stay: it has them open.
    Returns how many were removed."""
    folder = multiprocess_dir()
    if folder is None:
        return 0
    removed = 0
    own = f"_{os.getpid()}.db"
    for path in folder.glob("*.db"):
        if not path.name.endswith(own):
            path.unlink(missing_ok=True)
            removed += 1
    return removed


def mark_process_dead(pid: int) -> None:
    """A pool process exits: its live gauges stop counting (its counters stay in the totals)."""
    if multiprocess_dir() is not None:
        multiprocess.mark_process_dead(pid)


def combined_registry(single_process: CollectorRegistry = REGISTRY) -> CollectorRegistry:
    """What a metrics endpoint serves (the worker's, and the web's when several uvicorn processes
    count): in multiprocess mode every process's files added up, plus the shared state; otherwise
    (a solo pool, a single web process, a test process) `single_process`, this process's own
    registry: the worker's REGISTRY by default, prometheus_client's default one for the web."""
    if multiprocess_dir() is None:
        return single_process
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    registry.register(SharedStateCollector())
    return registry


class SharedStateCollector:
    def collect(self):
        yield from self._outbox()
        yield from self._queues()

    def describe(self):
        return []  # collected lazily: do not query the database when registering

    def _outbox(self):
        unpublished = GaugeMetricFamily("todo_outbox_unpublished_events",
                                        "Outbox events waiting to be published to Kafka (parked ones excluded)")
        oldest = GaugeMetricFamily("todo_outbox_oldest_unpublished_age_seconds",
                                   "Age of the oldest outbox event waiting to be published (0 when none)")
        parked = GaugeMetricFamily("todo_outbox_parked_events",
                                   "Outbox events the Kafka sink set aside as undeliverable (see the admin)")
        try:
            table = connection.ops.quote_name(OutboxEvent._meta.db_table)
            with connection.cursor() as cursor:
                # Both through partial indexes: outbox_unpublished (pending) and outbox_parked.
                cursor.execute(
                    "SELECT count(*), GREATEST(COALESCE(EXTRACT(EPOCH FROM clock_timestamp() - min(created_at)), 0), 0), "
                    f"(SELECT count(*) FROM {table} WHERE published_at IS NULL AND parked_at IS NOT NULL) "
                    f"FROM {table} WHERE published_at IS NULL AND parked_at IS NULL"
                )
                count, age, parked_count = cursor.fetchone()
        except Exception:  # the scrape reports what it can; /healthz says why the database is down
            logger.warning("outbox metrics unavailable", exc_info=True)
            return
        unpublished.add_metric([], count)
        oldest.add_metric([], float(age))
        parked.add_metric([], parked_count)
        yield unpublished
        yield oldest
        yield parked

    def _queues(self):
        try:
            # Every Celery queue (ordinary jobs, live pushes), each a Redis list named after it.
            lengths = {q.name: redis_client().llen(q.name) for q in settings.CELERY_TASK_QUEUES}
        except redis.RedisError:
            logger.warning("Celery queue lengths unavailable", exc_info=True)
            return
        queue = GaugeMetricFamily("todo_celery_queue_length", "Jobs waiting in each Celery queue", labels=["queue"])
        for name, length in lengths.items():
            queue.add_metric([name], length)
        yield queue
        from .dispatch import FEEDS, feed_length  # dispatch imports this module

        try:
            # The events waiting for the audit and live drains (workers.dispatch.feed): one job drains many.
            fed = {name: feed_length(name) for name in FEEDS}
        except redis.RedisError:
            return
        feed = GaugeMetricFamily("todo_job_feed_length", "Events waiting in each job feed (audit, live)",
                                 labels=["feed"])
        for name, length in fed.items():
            feed.add_metric([name], length)
        yield feed


_registered = False


def register() -> None:
    global _registered
    if not _registered:
        import prometheus_client

        shared = SharedStateCollector()
        prometheus_client.REGISTRY.register(shared)
        REGISTRY.register(shared)
        _registered = True
