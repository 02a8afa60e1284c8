"""Prometheus metrics of the background side: outbox lag, Kafka publishing, Celery jobs, reminder scans.

Counters live in Redis rather than in process memory: Celery's prefork children
are separate processes and pods come and go, while one Redis hash adds them all
up.  The collector below reads that hash, the Celery queue length and the outbox
lag (from PostgreSQL) at scrape time; it is registered in the default registry,
so the web's /metrics and the worker's own endpoint (WORKER_METRICS_PORT) both
export it.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict

import redis
from django.conf import settings
from django.db import connection
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
)

from tasks_app.models import OutboxEvent

logger = logging.getLogger(__name__)

REDIS_KEY = "todo:metrics"
DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)

_client: redis.Redis | None = None


def redis_client() -> redis.Redis:
    """This process's client for the app's Redis (metrics, the sink-kick flag): short time-outs,
    because neither may hold up the job it serves."""
    global _client
    if _client is None:
        _client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=1, socket_connect_timeout=1)
    return _client


def _write(commands) -> None:
    """Run `commands(pipeline)`; a metrics hiccup must never fail the job being measured."""
    try:
        pipeline = redis_client().pipeline(transaction=False)
        commands(pipeline)
        pipeline.execute()
    except redis.RedisError:
        logger.debug("metrics not recorded", exc_info=True)


def record_publish(acked_per_topic: dict[str, int], failures: int) -> None:
    def commands(pipe):
        for topic, count in acked_per_topic.items():
            pipe.hincrby(REDIS_KEY, f"published|{topic}", count)
        if failures:
            pipe.hincrby(REDIS_KEY, "publish_failures", failures)

    _write(commands)


def record_task(name: str, state: str, seconds: float | None) -> None:
    def commands(pipe):
        pipe.hincrby(REDIS_KEY, f"tasks|{name}|{state}", 1)
        if seconds is not None:
            pipe.hincrbyfloat(REDIS_KEY, f"duration_sum|{name}", seconds)
            pipe.hincrby(REDIS_KEY, f"duration_count|{name}", 1)
            for bound in DURATION_BUCKETS:
                if seconds <= bound:
                    pipe.hincrby(REDIS_KEY, f"duration_bucket|{name}|{bound}", 1)

    _write(commands)


def record_reminder_scan() -> None:
    _write(lambda pipe: pipe.hset(REDIS_KEY, "reminder_scan_last_success", time.time()))


class TodoCollector:
    def collect(self):
        yield from self._outbox()
        yield from self._from_redis()

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

    def _from_redis(self):
        try:
            raw = {key.decode(): value.decode() for key, value in redis_client().hgetall(REDIS_KEY).items()}
            # Every Celery queue (ordinary jobs, live pushes), each a Redis list named after it.
            queue_lengths = {q.name: redis_client().llen(q.name) for q in settings.CELERY_TASK_QUEUES}
        except redis.RedisError:
            logger.warning("worker metrics unavailable", exc_info=True)
            return
        published = CounterMetricFamily("todo_kafka_events_published", "Messages acknowledged by Kafka",
                                        labels=["topic"])
        failures = CounterMetricFamily("todo_kafka_publish_failures", "Outbox events whose delivery failed")
        tasks = CounterMetricFamily("todo_celery_tasks", "Celery jobs run, by outcome", labels=["task", "state"])
        last_scan = GaugeMetricFamily("todo_reminder_scan_last_success_timestamp_seconds",
                                      "Unix time of the last completed reminder scan")
        queue = GaugeMetricFamily("todo_celery_queue_length", "Jobs waiting in each Celery queue", labels=["queue"])
        durations: dict[str, dict] = defaultdict(lambda: {"sum": 0.0, "count": 0, "buckets": {}})
        failures.add_metric([], float(raw.get("publish_failures", 0)))
        for key, value in raw.items():
            kind, _, rest = key.partition("|")
            if kind == "published":
                published.add_metric([rest], float(value))
            elif kind == "tasks":
                name, _, state = rest.rpartition("|")
                tasks.add_metric([name, state], float(value))
            elif kind == "duration_sum":
                durations[rest]["sum"] = float(value)
            elif kind == "duration_count":
                durations[rest]["count"] = int(value)
            elif kind == "duration_bucket":
                name, _, bound = rest.rpartition("|")
                durations[name]["buckets"][float(bound)] = int(value)
        if "reminder_scan_last_success" in raw:
            last_scan.add_metric([], float(raw["reminder_scan_last_success"]))
        for name, length in queue_lengths.items():
            queue.add_metric([name], length)
        histogram = HistogramMetricFamily("todo_celery_task_duration_seconds", "Celery job run time",
                                          labels=["task"])
        for name, data in durations.items():
            # Each run was counted in its smallest bucket and every larger one already.
            buckets = [(str(bound), data["buckets"].get(bound, 0)) for bound in DURATION_BUCKETS]
            buckets.append(("+Inf", data["count"]))
            histogram.add_metric([name], buckets, data["sum"])
        yield from (published, failures, tasks, last_scan, queue, histogram)


_registered = False


def register() -> None:
    global _registered
    if not _registered:
        from prometheus_client import REGISTRY

        REGISTRY.register(TodoCollector())
        _registered = True
