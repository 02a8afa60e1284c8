"""Outbox → Kafka: sink throughput next to a raw producer, and commit-to-Kafka latency.

    .venv/bin/python bench/events.py                      # 100,000 events, 20 s of steady load
    .venv/bin/python bench/events.py --events 20000 --load-seconds 10 --rate 100

Uses DATABASE_URL / REDIS_URL / KAFKA_BOOTSTRAP_SERVERS when set, otherwise starts
the embedded services in a temporary folder (removed at the end).  The database
gets a fresh `todo_bench` database; the broker gets fresh topics per run.

1. Throughput: N outbox rows are bulk-inserted, then drained by the real sink
   (workers.outbox.publish_pending, in this process).  The same messages (each
   event goes to its topic and to task-updates) are then sent by a bare
   confluent-kafka producer with the same settings.  Ratio = sink / raw.
2. Latency: a real Celery worker runs; tasks are created through the service
   layer at a steady rate; a consumer records when each event arrives in
   `task-events`.  Latency = arrival − commit (both clocks on this machine).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def start_services(root: Path):
    from devstack.servers import Stack

    stack = Stack(root, durable=False)
    env = stack.start(os.environ)
    import psycopg

    admin_url = env["DATABASE_URL"].rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS todo_bench WITH (FORCE)")
        conn.execute("CREATE DATABASE todo_bench")
    env["DATABASE_URL"] = env["DATABASE_URL"].rsplit("/", 1)[0] + "/todo_bench"
    return stack, env


@contextmanager
def bench_stack(name: str):
    """A throwaway stack for one benchmark: embedded services, a fresh migrated database, Django set up
    on it and fresh topics; yields (workdir, env) and removes everything afterwards."""
    workdir = Path(tempfile.mkdtemp(prefix=f"todo-bench-{name}-"))
    os.chmod(workdir, 0o755)
    stack, env = start_services(workdir / "services")
    try:
        os.environ.update(env)
        os.environ.update({"DJANGO_SETTINGS_MODULE": "todo_project.settings", "DEVSTACK_DATA_DIR": str(workdir),
                           "LOG_LEVEL": "WARNING"})
        import django
        from django.core.management import call_command

        django.setup()
        call_command("migrate", verbosity=0)
        fresh_topics("bench")
        yield workdir, env
    finally:
        stack.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def fresh_topics(prefix: str) -> None:
    """Delete and recreate the app's topics so counts start at zero."""
    from confluent_kafka.admin import AdminClient

    from workers import kafka

    admin = AdminClient(kafka.client_config())
    existing = [t for t in admin.list_topics(timeout=10).topics if t in ("task-events", "reminders", "task-updates")]
    if existing:
        for future in admin.delete_topics(existing, operation_timeout=10).values():
            try:
                future.result()
            except Exception:
                pass
        time.sleep(0.5)
    kafka.ensure_topics()


def seed_outbox(count: int) -> None:
    from django.utils import timezone

    from tasks_app.events import TOPIC_BY_TYPE, TASK_UPDATED
    from tasks_app.models import OutboxEvent

    now = timezone.now()
    batch = []
    for n in range(count):
        task_id = n % 5000 + 1
        event_id = uuid.uuid4()
        payload = {
            "specversion": "1.0", "id": str(event_id), "source": "urn:todo-app:bench", "type": TASK_UPDATED,
            "subject": str(task_id), "time": now.isoformat(), "datacontenttype": "application/json",
            "data": {"user_id": 1, "task": {"id": task_id, "user_id": 1, "title": f"Bench task {task_id}",
                                            "description": "", "priority": "P3", "tags": ["bench"], "due_at": None,
                                            "completed": False, "completed_at": None, "recurrence": None,
                                            "reminder_minutes_before": None, "reminder_sent_at": None,
                                            "previous_occurrence_id": None, "created_at": now.isoformat(),
                                            "updated_at": now.isoformat()},
                     "changes": {"description": {"old": "", "new": f"v{n}"}}},
        }
        batch.append(OutboxEvent(event_id=event_id, type=TASK_UPDATED, topic=TOPIC_BY_TYPE[TASK_UPDATED],
                                 key=str(task_id), user_id=1, task_id=task_id, payload=payload, created_at=now))
        if len(batch) == 5000:
            OutboxEvent.objects.bulk_create(batch)
            batch = []
    if batch:
        OutboxEvent.objects.bulk_create(batch)


def measure_throughput(count: int) -> dict:
    from workers import kafka, outbox

    seed_outbox(count)
    # The very messages the sink will send, built up front so the raw run measures sending only.
    messages = [message for row in outbox._pending(0, count) for message in outbox.messages(row)]
    outbox._get_producer()  # connect (and create topics) outside the timed part, as a running worker would be
    started = time.perf_counter()
    result = outbox.publish_pending(max_seconds=3600)
    sink_seconds = time.perf_counter() - started
    assert result.published == count and not result.failed, result

    producer = kafka.new_producer()
    producer.list_topics(timeout=10)
    delivered = 0

    def on_delivery(err, msg):
        nonlocal delivered
        if err is None:
            delivered += 1

    started = time.perf_counter()
    for topic, key, value, headers in messages:
        while True:
            try:
                producer.produce(topic, key=key, value=value, headers=headers, on_delivery=on_delivery)
                break
            except BufferError:
                producer.poll(0.1)
    producer.flush(120)
    raw_seconds = time.perf_counter() - started
    assert delivered == len(messages), (delivered, len(messages))
    return {"events": count, "messages": len(messages), "sink_seconds": sink_seconds, "raw_seconds": raw_seconds,
            "sink_events_per_s": count / sink_seconds, "raw_events_per_s": count / raw_seconds,
            "ratio": raw_seconds / sink_seconds}


def measure_latency(env: dict, seconds: float, rate: float, workdir: Path) -> dict:
    from confluent_kafka import Consumer, TopicPartition, OFFSET_END
    from django.contrib.auth import get_user_model
    from django.db import transaction

    from tasks_app import services
    from tasks_app.models import OutboxEvent

    log = open(workdir / "worker.log", "wb")
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "todo_project", "worker", "--loglevel=WARNING", "--concurrency=2",
         "--without-mingle", "--without-gossip"],
        cwd=BASE_DIR, env={**os.environ, **env, "WORKER_METRICS_PORT": "0"}, stdout=log, stderr=subprocess.STDOUT,
    )
    arrivals: dict[str, float] = {}
    stop = threading.Event()
    # fetch.wait.max.ms: this broker answers a fetch only when the wait expires, so a short
    # wait keeps the consumer's own delay out of the measured latency.
    consumer = Consumer({"bootstrap.servers": env["KAFKA_BOOTSTRAP_SERVERS"], "group.id": f"bench-{uuid.uuid4()}",
                         "enable.auto.commit": False, "fetch.wait.max.ms": 10})
    partitions = consumer.list_topics("task-events", timeout=10).topics["task-events"].partitions
    consumer.assign([TopicPartition("task-events", p, OFFSET_END) for p in partitions])

    def consume():
        while not stop.is_set():
            message = consumer.poll(0.05)
            if message is not None and not message.error():
                arrivals[json.loads(message.value())["id"]] = time.time()

    reader = threading.Thread(target=consume, daemon=True)
    reader.start()
    try:
        user, _ = get_user_model().objects.get_or_create(username="bench")
        # Steady state, not start-up: wait until the worker has published a first event.
        services.task_create(user=user, title="Warm-up")
        deadline = time.time() + 60
        while not arrivals and time.time() < deadline:
            time.sleep(0.1)
        commits: dict[str, float] = {}
        interval = 1.0 / rate
        next_at = time.perf_counter()
        end = next_at + seconds
        n = 0
        while time.perf_counter() < end:
            with transaction.atomic():
                task = services.task_create(user=user, title=f"Latency {n}")
                event_id = str(OutboxEvent.objects.filter(task_id=task.pk).values_list("event_id", flat=True)[0])
            commits[event_id] = time.time()
            n += 1
            next_at += interval
            time.sleep(max(0.0, next_at - time.perf_counter()))
        deadline = time.time() + 30
        while time.time() < deadline and not set(commits) <= set(arrivals):
            time.sleep(0.1)
    finally:
        stop.set()
        reader.join(timeout=5)
        consumer.close()
        worker.terminate()
        worker.wait(timeout=30)
        log.close()
    latencies = [(arrivals[event_id] - committed) * 1000 for event_id, committed in commits.items()
                 if event_id in arrivals]
    if not latencies:
        raise SystemExit("no event reached Kafka during the latency run; worker log:\n"
                         + (workdir / "worker.log").read_text(errors="replace")[-4000:])
    return {"sent": len(commits), "arrived": len(latencies), "rate": rate, "seconds": seconds,
            "p50_ms": statistics.median(latencies), "p95_ms": percentile(latencies, 95),
            "p99_ms": percentile(latencies, 99), "max_ms": max(latencies)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--load-seconds", type=float, default=20.0)
    parser.add_argument("--rate", type=float, default=50.0, help="task creations per second during the latency run")
    args = parser.parse_args()

    with bench_stack("events") as (workdir, env):
        # Latency first, on a quiet outbox; then the bulk throughput run.
        latency = measure_latency(env, args.load_seconds, args.rate, workdir)
        print(f"latency commit → Kafka, {latency['sent'] / latency['seconds']:.0f} changes/s achieved "
              f"(asked {latency['rate']:.0f}/s) for {latency['seconds']:.0f} s ({latency['arrived']}/{latency['sent']} "
              "arrived):")
        print(f"  p50 {latency['p50_ms']:.0f} ms · p95 {latency['p95_ms']:.0f} ms · p99 {latency['p99_ms']:.0f} ms "
              f"· max {latency['max_ms']:.0f} ms  (target p95 ≤ 500 ms)")
        throughput = measure_throughput(args.events)
        print(f"throughput: {throughput['events']:,} events ({throughput['messages']:,} messages)")
        print(f"  sink (outbox → Kafka, marked published): {throughput['sink_seconds']:.2f} s "
              f"= {throughput['sink_events_per_s']:,.0f} events/s")
        print(f"  raw producer, same messages:              {throughput['raw_seconds']:.2f} s "
              f"= {throughput['raw_events_per_s']:,.0f} events/s")
        print(f"  ratio sink/raw: {throughput['ratio']:.2f}  (target ≥ 0.5)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
