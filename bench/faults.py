"""Faults, with figures: steady writes through the REST API while the services fail in turn.

    .venv/bin/python bench/faults.py                    # about 3 minutes
    .venv/bin/python bench/faults.py --kafka-down 10    # shorter Kafka outage
    .venv/bin/python bench/faults.py --rate 4           # heavier steady writes

Starts its own embedded PostgreSQL, Redis and Kafka-protocol broker (tansu) on 127.0.0.1 in a
temporary folder (always: it stops and restarts them), migrates, then runs the app as `make run`
does — uvicorn, a Celery worker on every queue, Celery beat — and writes steadily with a few
client threads: each round creates a task with a reminder due now (claimed by the reminder scan),
creates a daily task and completes it (a next occurrence is spawned).  Faults, one after another,
each with writes going on:

1. kafka      the broker stopped for --kafka-down seconds, then started again (its memory storage
              comes back empty: the sink recreates the topics, as after any broker loss)
2. redis      redis-server stopped and started again (its RDB snapshot written on shutdown)
3. worker     the Celery worker SIGKILLed (with its pool) while jobs run, started again 2 s later
4. postgres   the web's database backends terminated while requests are in flight
              (pg_terminate_backend, twenty times 150 ms apart)

A consumer reads task-events and reminders throughout and records every (broker epoch, topic,
partition, offset) at
which each event id arrives.  The writers pause for at most 2 s before the broker is stopped, so
that the consumer has read what the broker held: tansu keeps messages in memory only, and what it
loses on restart a real Kafka would have kept — that would be the test broker's loss, not the
pipeline's.

The table: requests failed (and how: every failure must be a 503 with a clear message),
events lost (outbox rows never seen in Kafka), events duplicated by id (seen at two positions:
at-least-once delivery re-sends the batch in flight when the sink dies), occurrences doubled (a
series with two tasks for one due date), reminders doubled (a task with two notifications), and
seconds to recover (from the fault's end until every event written before it is published and
audited and every completed recurring task has its next occurrence).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from datetime import datetime, timedelta, timezone
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

from devstack.servers import LOCALHOST, Kafka, Redis, Stack, free_port, wait_for_port  # noqa: E402

QUEUES = "events,default,live,maintenance,webhooks"
TOPICS = ("task-events", "reminders")  # where the outbox's events go (task-updates repeats them)


# --------------------------------------------------------------------------- processes


class App:
    """uvicorn, a Celery worker and Celery beat on the stack, as `make run` runs them."""

    def __init__(self, env: dict[str, str], folder: Path):
        self.env, self.folder = env, folder
        self.web = self.worker = self.beat = None
        self.port = free_port()

    def _spawn(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> subprocess.Popen:
        log = open(self.folder / f"{name}.log", "ab")
        try:
            return subprocess.Popen([sys.executable, *argv], cwd=BASE_DIR, env=env or self.env, stdout=log,
                                    stderr=subprocess.STDOUT, start_new_session=True)
        finally:
            log.close()

    def start(self) -> None:
        web_env = {**self.env, "DATABASE_URL": self.env["DATABASE_URL"] + "?application_name=todo-web"}
        self.web = self._spawn("web", ["-m", "uvicorn", "todo_project.asgi:application", "--host", LOCALHOST,
                                       "--port", str(self.port), "--no-access-log"], web_env)
        wait_for_port(self.port, timeout=60, process=self.web, what="uvicorn")
        self.start_worker()
        self.beat = self._spawn("beat", ["-m", "celery", "-A", "todo_project", "beat", "--loglevel=WARNING",
                                         f"--schedule={self.folder / 'celerybeat-schedule'}"])

    def start_worker(self) -> None:
        self.worker = self._spawn("worker", ["-m", "celery", "-A", "todo_project", "worker", "--loglevel=INFO",
                                             "--concurrency=2", f"-Q{QUEUES}", "--hostname=faults@%h",
                                             "--without-mingle", "--without-gossip"])
        deadline = time.monotonic() + 60
        while " ready." not in (self.folder / "worker.log").read_text(errors="replace").split("--- restart ---")[-1]:
            if time.monotonic() > deadline or self.worker.poll() is not None:
                raise SystemExit(f"worker did not start; see {self.folder / 'worker.log'}")
            time.sleep(0.1)

    def kill_worker(self) -> None:
        os.killpg(self.worker.pid, signal.SIGKILL)
        self.worker.wait()
        with open(self.folder / "worker.log", "a") as log:
            log.write("\n--- restart ---\n")

    def stop(self) -> None:
        for process in (self.beat, self.worker, self.web):
            if process is not None and process.poll() is None:
                try:
                    os.killpg(process.pid, signal.SIGTERM)
                    process.wait(timeout=20)
                except (subprocess.TimeoutExpired, ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)


# --------------------------------------------------------------------------- writers


class Writers:
    """Client threads writing through the REST API; every answer is recorded with its phase."""

    def __init__(self, port: int, token: str, threads: int, rate: float):
        self.port, self.token, self.threads = port, token, threads
        self.interval = threads / rate  # seconds between one thread's rounds
        self.phase = "warm-up"
        self.answers: list[tuple[str, int, str]] = []  # (phase, status, detail when failed)
        self.running = threading.Event()
        self.stopped = threading.Event()
        self.lock = threading.Lock()
        self.workers: list[threading.Thread] = []

    def _request(self, conn, method: str, path: str, body: dict | None):
        headers = {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"}
        if time.monotonic() - getattr(conn, "last_used", 0) > 3:
            conn.close()  # uvicorn closes idle keep-alive connections after 5 s: start afresh, as browsers do
        conn.last_used = time.monotonic()
        try:
            conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
            response = conn.getresponse()
            text = response.read().decode(errors="replace")
            status = response.status
        except (OSError, http.client.HTTPException) as exc:
            conn.close()
            status, text = 0, f"{type(exc).__name__}: {exc}"
        if status >= 500 and text.startswith("Traceback"):  # DEBUG's plain-text 500: keep the exception line
            text = [line for line in text.splitlines() if line.strip()][-1]
        with self.lock:
            self.answers.append((self.phase, status, "" if 200 <= status < 300 else text[:200]))
        return status, text

    def _loop(self, number: int) -> None:
        conn = http.client.HTTPConnection(LOCALHOST, self.port, timeout=30)
        round_ = 0
        next_round = time.monotonic()
        while not self.stopped.is_set():
            if not self.running.wait(0.1):
                continue
            round_ += 1
            now = datetime.now(timezone.utc)
            self._request(conn, "POST", "/api/tasks", {
                "title": f"remind {number}-{round_}", "due_at": (now + timedelta(minutes=1)).isoformat(),
                "reminder_minutes_before": 1})
            status, text = self._request(conn, "POST", "/api/tasks", {
                "title": f"daily {number}-{round_}", "recurrence": "daily",
                "due_at": (now + timedelta(hours=1)).isoformat()})
            if status == 201:
                self._request(conn, "POST", f"/api/tasks/{json.loads(text)['id']}/complete", None)
            time.sleep(max(0.0, next_round - time.monotonic()))
            next_round = max(next_round + self.interval, time.monotonic())
        conn.close()

    def start(self) -> None:
        self.running.set()
        self.workers = [threading.Thread(target=self._loop, args=(n,), daemon=True) for n in range(self.threads)]
        for thread in self.workers:
            thread.start()

    def pause(self) -> None:
        self.running.clear()
        time.sleep(0.5)  # let requests in flight finish

    def stop(self) -> None:
        self.stopped.set()
        for thread in self.workers:
            thread.join(timeout=60)


# --------------------------------------------------------------------------- the verifying consumer


class Reader:
    """Reads task-events and reminders from the beginning, across broker restarts (each a new epoch)."""

    def __init__(self, bootstrap: str):
        self.bootstrap = bootstrap
        self.epoch = 0
        self.positions: dict[str, set] = defaultdict(set)
        self.lock = threading.Lock()
        self.reassign = threading.Event()
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _assign(self, consumer) -> None:
        from confluent_kafka import OFFSET_BEGINNING, TopicPartition

        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for topic in TOPICS
                         for p in range(self.partitions)])

    def _run(self) -> None:
        from confluent_kafka import Consumer

        consumer = Consumer({"bootstrap.servers": self.bootstrap, "group.id": "faults-reader",
                             "enable.auto.commit": False, "auto.offset.reset": "earliest",
                             "reconnect.backoff.max.ms": 500, "topic.metadata.refresh.interval.ms": 1000,
                             "log_level": 2})  # quiet while the broker is down on purpose
        self._assign(consumer)
        while not self.stopped.is_set():
            if self.reassign.is_set():
                self.reassign.clear()
                self._assign(consumer)
            message = consumer.poll(0.2)
            if message is None or message.error():
                continue
            event_id = json.loads(message.value())["id"]
            with self.lock:
                self.positions[event_id].add((self.epoch, message.topic(), message.partition(), message.offset()))
        consumer.close()

    def start(self, partitions: int) -> None:
        self.partitions = partitions
        self.thread.start()

    def new_epoch(self) -> None:
        with self.lock:
            self.epoch += 1
        self.reassign.set()

    def seen(self) -> set[str]:
        with self.lock:
            return set(self.positions)

    def stop(self) -> None:
        self.stopped.set()
        self.thread.join(timeout=10)


# --------------------------------------------------------------------------- measuring


class Db:
    def __init__(self, url: str):
        import psycopg

        self.url = url
        self.psycopg = psycopg
        self.conn = None

    def query(self, sql: str, params=()) -> list[tuple]:
        for _ in range(50):  # the bench's own connection survives the postgres fault
            try:
                if self.conn is None or self.conn.closed:
                    self.conn = self.psycopg.connect(self.url, autocommit=True, application_name="faults-bench")
                return self.conn.execute(sql, params).fetchall()
            except self.psycopg.OperationalError:
                self.conn = None
                time.sleep(0.2)
        raise SystemExit("the bench lost its database connection")

    def max_event_id(self) -> int:
        return self.query("SELECT COALESCE(max(id), 0) FROM tasks_app_outboxevent")[0][0]

    def caught_up(self, up_to_id: int, completed_before: datetime) -> bool:
        [(unpublished, unaudited, unspawned)] = self.query(
            "SELECT (SELECT count(*) FROM tasks_app_outboxevent WHERE published_at IS NULL AND id <= %s), "
            "(SELECT count(*) FROM tasks_app_outboxevent o WHERE o.id <= %s AND NOT EXISTS "
            "  (SELECT 1 FROM tasks_app_auditlog a WHERE a.event_id = o.event_id)), "
            "(SELECT count(*) FROM tasks_app_task t WHERE t.completed AND t.recurrence IS NOT NULL "
            "  AND t.completed_at <= %s AND NOT EXISTS "
            "  (SELECT 1 FROM tasks_app_task n WHERE n.previous_occurrence_id = t.id))",
            (up_to_id, up_to_id, completed_before))
        return unpublished == 0 and unaudited == 0 and unspawned == 0

    def recover_seconds(self, cleared_at: float, timeout: float = 120) -> float | None:
        up_to, completed_before = self.max_event_id(), datetime.now(timezone.utc)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.caught_up(up_to, completed_before):
                return time.monotonic() - cleared_at
            time.sleep(0.2)
        return None


# --------------------------------------------------------------------------- the run


def prepare(root: Path, args) -> tuple[Stack, dict[str, str], str]:
    stack = Stack(root / "services", durable=True)
    stack.start({})  # always our own servers, on 127.0.0.1: this bench stops and restarts them
    env = {**os.environ, **stack.env, "DEVSTACK_DATA_DIR": str(root / "data"), "PYTHONUNBUFFERED": "1",
           "DJANGO_SETTINGS_MODULE": "todo_project.settings", "DJANGO_DEBUG": "true", "WORKER_METRICS_PORT": "0",
           "OUTBOX_SWEEP_INTERVAL": "1", "REMINDER_SCAN_INTERVAL": "2", "JOB_SWEEP_INTERVAL": "5",
           "JOB_SWEEP_GRACE_SECONDS": "10", "KAFKA_DELIVERY_TIMEOUT_SECONDS": "3", "LOG_LEVEL": "WARNING"}
    env.pop("CELERY_BROKER_URL", None)  # the broker is our Redis (REDIS_URL)
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "--noinput", "-v0"], cwd=BASE_DIR, env=env, check=True)
    token = subprocess.run([*manage, "ensure_demo_user"], cwd=BASE_DIR, env=env, check=True, capture_output=True,
                           text=True).stdout.strip().splitlines()[-1]
    return stack, env, token


def run(args) -> int:
    root = Path(tempfile.mkdtemp(prefix="todo-faults-"))
    os.chmod(root, 0o755)  # PostgreSQL runs as an unprivileged user when we are root
    (root / "app").mkdir()
    stack = app = writers = reader = None
    rows = []
    try:
        stack, env, token = prepare(root, args)
        db = Db(stack.env["DATABASE_URL"])
        app = App(env, root / "app")
        app.start()
        writers = Writers(app.port, token, args.clients, args.rate)
        reader = Reader(stack.kafka.bootstrap_servers)
        writers.start()
        time.sleep(args.steady)
        reader.start(int(env.get("KAFKA_TOPIC_PARTITIONS", 3)))

        def phase(name: str, inject, note: str) -> None:
            writers.phase = name
            started = time.monotonic()
            cleared_at = inject()
            recover = db.recover_seconds(cleared_at)
            time.sleep(args.steady)
            rows.append({"fault": name, "note": note, "recover": recover, "seconds": time.monotonic() - started})
            print(f"faults: {name} done ({note}); recovered in "
                  f"{'—' if recover is None else f'{recover:.1f} s'}", flush=True)

        def kafka_down() -> float:
            writers.pause()
            published = {str(r[0]) for r in db.query(
                "SELECT event_id FROM tasks_app_outboxevent WHERE published_at IS NOT NULL")}
            deadline = time.monotonic() + 2
            while time.monotonic() < deadline and not published <= reader.seen():
                time.sleep(0.05)
            port, data_dir = stack.kafka.port, stack.kafka.data_dir
            stack.kafka.stop()
            reader.new_epoch()
            writers.running.set()
            time.sleep(args.kafka_down)
            stack.kafka = Kafka(data_dir, port=port).start()
            return time.monotonic()

        def redis_restart() -> float:
            port, data_dir = stack.redis.port, stack.redis.data_dir
            stack.redis.stop()
            time.sleep(args.redis_down)
            stack.redis = Redis(data_dir, port=port, durable=True).start()
            return time.monotonic()

        def worker_kill() -> float:
            app.kill_worker()
            time.sleep(2)
            app.start_worker()
            return time.monotonic()

        def postgres_terminate() -> float:
            terminated = 0
            # The web opens a connection per request (CONN_MAX_AGE=0): any it holds is mid-request.
            for _ in range(20):
                terminated += len(db.query(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'todo-web'"))
                time.sleep(0.15)
            postgres_terminate.terminated = terminated
            return time.monotonic()

        faults = set(args.faults.split(","))
        if "kafka" in faults:
            phase("kafka", kafka_down, f"broker down {args.kafka_down} s")
        if "redis" in faults:
            phase("redis", redis_restart, f"redis down {args.redis_down} s")
        if "worker" in faults:
            phase("worker", worker_kill, "SIGKILL mid-job, restarted after 2 s")
        if "postgres" in faults:
            phase("postgres", postgres_terminate, "web backends terminated mid-request")
            rows[-1]["note"] += f" ({postgres_terminate.terminated} backends)"

        writers.stop()
        final = db.recover_seconds(time.monotonic(), timeout=120)
        outbox = {str(r[0]) for r in db.query("SELECT event_id FROM tasks_app_outboxevent")}
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not outbox <= reader.seen():
            time.sleep(0.2)
        time.sleep(1)  # repeats arrive just after
        report(rows, writers, reader, db, outbox, final)
        return 0
    finally:
        for part in (writers, reader):
            if part is not None:
                part.stop()
        if app is not None:
            app.stop()
        if stack is not None:
            stack.stop()
        if args.keep:
            print(f"faults: logs kept in {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)


def report(rows, writers, reader, db, outbox: set[str], final) -> None:
    with reader.lock:
        positions = dict(reader.positions)
    lost = len(outbox - set(positions))
    duplicated = sum(1 for event_id in outbox if len(positions.get(event_id, ())) > 1)
    [(doubled_occurrences,)] = db.query(
        "SELECT count(*) FROM (SELECT 1 FROM tasks_app_task WHERE recurrence IS NOT NULL "
        "GROUP BY user_id, title, due_at HAVING count(*) > 1) d")
    [(doubled_reminders,)] = db.query(
        "SELECT count(*) FROM (SELECT 1 FROM tasks_app_notification GROUP BY task_id HAVING count(*) > 1) d")
    [(reminders,)] = db.query("SELECT count(*) FROM tasks_app_notification")
    [(occurrences,)] = db.query("SELECT count(*) FROM tasks_app_task WHERE previous_occurrence_id IS NOT NULL")
    by_phase: dict[str, Counter] = defaultdict(Counter)
    failures: dict[str, Counter] = defaultdict(Counter)
    for phase, status, detail in writers.answers:
        by_phase[phase]["total"] += 1
        if not 200 <= status < 300:
            by_phase[phase]["failed"] += 1
            failures[phase][f"{status} {detail[:90]}"] += 1
    print()
    print(f"requests {len(writers.answers)}, events {len(outbox)}, next occurrences {occurrences}, "
          f"reminders {reminders}; final catch-up {'—' if final is None else f'{final:.1f} s'}")
    print()
    print("| fault | injected | requests (failed) | failures answered | seconds to recover |")
    print("|---|---|---|---|---|")
    for row in rows:
        counts = by_phase[row["fault"]]
        how = "; ".join(f"{n}× {text}" for text, n in failures[row["fault"]].most_common(3)) or "—"
        recover = "did not recover in 120 s" if row["recover"] is None else f"{row['recover']:.1f}"
        print(f"| {row['fault']} | {row['note']} | {counts['total']} ({counts['failed']}) | {how} | {recover} |")
    print()
    print("| events lost | events duplicated by id | occurrences doubled | reminders doubled |")
    print("|---|---|---|---|")
    print(f"| {lost} | {duplicated} | {doubled_occurrences} | {doubled_reminders} |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=3, help="writer threads (default 3)")
    parser.add_argument("--rate", type=float, default=2, help="write rounds per second, all clients together "
                        "(3 requests and 4 transactions each; default 2)")
    parser.add_argument("--steady", type=float, default=5, help="seconds of steady writes around each fault")
    parser.add_argument("--kafka-down", type=float, default=30, help="seconds the broker stays down (default 30)")
    parser.add_argument("--redis-down", type=float, default=3, help="seconds Redis stays down (default 3)")
    parser.add_argument("--faults", default="kafka,redis,worker,postgres", help="which faults, in this order")
    parser.add_argument("--keep", action="store_true", help="keep the logs folder")
    return run(parser.parse_args())


if __name__ == "__main__":
    sys.exit(main())
