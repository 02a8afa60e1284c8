"""Reminders: due-to-notification latency with many reminders falling due in one minute, and
what the reminder scan costs on a big table next to a small one with the same number due.

    .venv/bin/python bench/reminders.py                                   # 10,000 due in a minute; 1M vs 10k
    .venv/bin/python bench/reminders.py --reminders 3000 --big 200000     # a smaller run

Uses DATABASE_URL / REDIS_URL / KAFKA_BOOTSTRAP_SERVERS when set, otherwise starts the embedded
services in a temporary folder (removed at the end), on a fresh `todo_bench` database.

1. Latency: N tasks with a reminder at its due time (lead 0) are written (bulk, so no after-commit
   arming: the beat scan arms them, as it does reminders set long ago), their times spread evenly
   over one minute starting LEAD seconds from now.  A real Celery worker (2 processes) and beat
   run with the default REMINDER_SCAN_INTERVAL (30 s): each scan claims what is due and arms a
   precise `eta` job (workers.fire_reminders) per 0.25 s slice of what falls due before the next.
   Latency = Notification.created_at − remind_at, both from this machine's clock.
2. Scan cost: the same DUE reminders past due, in a table of SMALL tasks and then of BIG tasks
   (the rest: a third without a reminder, a third completed, a third with reminders days ahead,
   which sit in the partial index too).  Measured: the claim (reminders_claim_due, rolled back
   after each run) and the look-ahead (reminders_coming_up), median of several runs.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

from bench.events import bench_stack, percentile  # noqa: E402


class Rollback(Exception):
    pass


def bench_users(count: int) -> list:
    from django.contrib.auth import get_user_model

    User = get_user_model()
    return [User.objects.get_or_create(username=f"bench{n}")[0] for n in range(count)]


def measure_latency(env: dict, count: int, lead: float, users: int, workdir: Path,
                    keep_logs: Path | None = None) -> dict:
    from django.db import connection
    from django.utils import timezone

    from tasks_app.events import REMINDER_DUE
    from tasks_app.models import Notification, OutboxEvent, Task

    people = bench_users(users)
    worker_env = {**os.environ, **env, "WORKER_METRICS_PORT": "0",
                  "PROMETHEUS_MULTIPROC_DIR": str(workdir / "prometheus")}
    (workdir / "prometheus").mkdir(exist_ok=True)
    loglevel = "INFO" if keep_logs else "WARNING"  # INFO: every job received, started and done, with times
    logs = [open(workdir / name, "wb") for name in ("worker.log", "beat.log")]
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "todo_project", "worker", f"--loglevel={loglevel}", "--concurrency=2",
         "--queues=events,default,live,maintenance,webhooks", "--without-mingle", "--without-gossip"],
        cwd=BASE_DIR, env=worker_env, stdout=logs[0], stderr=subprocess.STDOUT, start_new_session=True)
    beat = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "todo_project", "beat", "--loglevel=INFO",
         f"--schedule={workdir / 'beat-schedule'}"],
        cwd=BASE_DIR, env=worker_env, stdout=logs[1], stderr=subprocess.STDOUT, start_new_session=True)
    try:
        # The minute starts LEAD seconds after beat is up (its first scan comes REMINDER_SCAN_INTERVAL
        # later), not after it was launched: on a loaded machine its start-up alone can take 15 s,
        # which would leave the minute's first reminders to no scan and measure the start-up.
        began = time.time()
        while b"beat: Starting" not in (workdir / "beat.log").read_bytes():
            if time.time() - began > 120 or beat.poll() is not None:
                raise SystemExit("beat did not start:\n" + (workdir / "beat.log").read_text(errors="replace")[-2000:])
            time.sleep(0.2)
        start = timezone.now() + timedelta(seconds=lead)
        step = 60.0 / count
        Task.objects.bulk_create(
            (Task(user=people[n % users], title=f"Reminder {n}", reminder_minutes_before=0,
                  due_at=start + timedelta(seconds=n * step)) for n in range(count)),
            batch_size=5000)
        created = timezone.now()
        if created >= start:
            raise SystemExit(f"writing the reminders took past their first time: raise --lead (now {lead} s)")
        deadline = time.time() + lead + 60 + 90
        done = 0
        while time.time() < deadline:
            done = Notification.objects.filter(task__title__startswith="Reminder ").count()
            if done >= count:
                break
            time.sleep(1)
        with connection.cursor() as cursor:
            cursor.execute("""SELECT EXTRACT(EPOCH FROM n.created_at - t.remind_at) * 1000 FROM tasks_app_notification n
                              JOIN tasks_app_task t ON t.id = n.task_id WHERE t.title LIKE 'Reminder %%'""")
            latencies = [float(row[0]) for row in cursor.fetchall()]
            # The late ones (over 2 s), by when in the minute they fell due: a pattern says which path missed.
            cursor.execute("""SELECT round(EXTRACT(EPOCH FROM t.remind_at - %s)::numeric, 1),
                                     round(EXTRACT(EPOCH FROM n.created_at - t.remind_at)::numeric, 1)
                              FROM tasks_app_notification n JOIN tasks_app_task t ON t.id = n.task_id
                              WHERE t.title LIKE 'Reminder %%' AND n.created_at - t.remind_at > interval '2 s'
                              ORDER BY t.remind_at LIMIT 20""", [start])
            late = cursor.fetchall()
        # Committed and handed on: when the sink had each reminder's event in Kafka (`reminders` topic), the
        # path every other consumer of a reminder waits for.  Waited for a little, as the sink trails the claims.
        published_deadline = time.time() + 60
        while time.time() < published_deadline and OutboxEvent.objects.filter(
                type=REMINDER_DUE, published_at__isnull=True).exists():
            time.sleep(1)
        with connection.cursor() as cursor:
            cursor.execute(f"""SELECT EXTRACT(EPOCH FROM o.published_at - t.remind_at) * 1000
                              FROM {OutboxEvent._meta.db_table} o JOIN tasks_app_task t ON t.id = o.task_id
                              WHERE o.type = %s AND o.published_at IS NOT NULL AND t.title LIKE 'Reminder %%'""",
                           [REMINDER_DUE])
            to_kafka = [float(row[0]) for row in cursor.fetchall()]
        duplicates = Notification.objects.filter(task__title__startswith="Reminder ").count() - \
            Notification.objects.filter(task__title__startswith="Reminder ").values("task_id").distinct().count()
    finally:
        for process in (beat, worker):
            process.terminate()
        for process in (beat, worker):
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        for log in logs:
            log.close()
        if keep_logs:
            keep_logs.mkdir(parents=True, exist_ok=True)
            for name in ("worker.log", "beat.log"):
                shutil.copy(workdir / name, keep_logs / name)
    if not latencies:
        raise SystemExit("no reminder was sent; worker log:\n"
                         + (workdir / "worker.log").read_text(errors="replace")[-4000:])
    return {"count": count, "sent": len(latencies), "duplicates": duplicates, "p50_ms": statistics.median(latencies),
            "p95_ms": percentile(latencies, 95), "p99_ms": percentile(latencies, 99), "max_ms": max(latencies),
            "min_ms": min(latencies), "late": late, "kafka_count": len(to_kafka),
            "kafka_p50_ms": statistics.median(to_kafka) if to_kafka else None,
            "kafka_p95_ms": percentile(to_kafka, 95) if to_kafka else None}


def seed_table(total: int, due: int, users: list, *, first: bool) -> None:
    """Grow the table to `total` tasks; on the first call also write the `due` reminders past due.
    INSERT … SELECT with the real triggers on (remind_at, search vector)."""
    from django.db import connection

    user_ids = [user.pk for user in users]
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM tasks_app_task WHERE title LIKE 'Scan %%'")
        have = cursor.fetchone()[0]
        if first:
            cursor.execute("""
                INSERT INTO tasks_app_task (user_id, title, description, priority, due_at, completed,
                                            reminder_minutes_before, created_at, updated_at, series_position)
                SELECT (%s::bigint[])[1 + n %% %s], 'Scan due ' || n, '', 'P3', now() - interval '1 minute', false,
                       0, now(), now(), 1
                FROM generate_series(1, %s) AS n""", [user_ids, len(user_ids), due])
            have += due
        rest = total - have
        if rest > 0:
            # n % 3: 0 no reminder, 1 completed (reminder sent long ago), 2 a reminder days ahead (in the index).
            cursor.execute("""
                INSERT INTO tasks_app_task (user_id, title, description, priority, due_at, completed, completed_at,
                                            reminder_minutes_before, reminder_sent_at, created_at, updated_at,
                                            series_position)
                SELECT (%s::bigint[])[1 + n %% %s], 'Scan other ' || n, '', 'P3',
                       now() + make_interval(days => 1 + n %% 300), n %% 3 = 1,
                       CASE WHEN n %% 3 = 1 THEN now() END,
                       CASE WHEN n %% 3 = 0 THEN NULL ELSE 10 END,
                       CASE WHEN n %% 3 = 1 THEN now() END, now(), now(), 1
                FROM generate_series(%s, %s) AS n""", [user_ids, len(user_ids), have, have + rest - 1])
        cursor.execute("ANALYZE tasks_app_task")


def time_scan(due: int, runs: int) -> dict:
    from django.db import transaction
    from django.utils import timezone

    from tasks_app import services

    claims, lookaheads = [], []
    for _ in range(runs):
        began = time.perf_counter()
        try:
            with transaction.atomic():
                claimed = services.reminders_claim_due(limit=due)
                elapsed = time.perf_counter() - began
                raise Rollback
        except Rollback:
            pass
        if len(claimed) != due:
            raise SystemExit(f"the claim found {len(claimed)} reminders, expected {due}")
        claims.append(elapsed * 1000)
        now = timezone.now()
        began = time.perf_counter()
        services.reminders_coming_up(now=now, until=now + timedelta(seconds=40))
        lookaheads.append((time.perf_counter() - began) * 1000)
    return {"claim_ms": statistics.median(claims), "lookahead_ms": statistics.median(lookaheads),
            "buffers": scan_buffers(due)}


def scan_buffers(due: int) -> int:
    """Shared buffers the claim's SELECT … FOR UPDATE SKIP LOCKED touches (EXPLAIN ANALYZE, BUFFERS):
    the scan's cost without the machine's load in it."""
    from django.db import transaction
    from django.utils import timezone

    from tasks_app.models import Task

    query = Task.objects.filter(remind_at__lte=timezone.now(), reminder_sent_at__isnull=True, completed=False,
                                remind_at__isnull=False).select_for_update(skip_locked=True).order_by("remind_at")[:due]
    try:
        with transaction.atomic():
            plan = query.explain(analyze=True, buffers=True, format="json")
            raise Rollback
    except Rollback:
        pass
    import json

    top = json.loads(plan)[0]["Plan"]
    return int(top.get("Shared Hit Blocks", 0)) + int(top.get("Shared Read Blocks", 0))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reminders", type=int, default=10_000, help="reminders falling due within one minute")
    parser.add_argument("--lead", type=float, default=40.0, help="seconds from writing them to the first one")
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--small", type=int, default=10_000, help="tasks in the small table")
    parser.add_argument("--big", type=int, default=1_000_000, help="tasks in the big table")
    parser.add_argument("--due", type=int, default=500, help="reminders past due in both tables (one claim's worth)")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--logs", type=Path, help="keep the worker's and beat's logs (at INFO) in this folder")
    parser.add_argument("--skip-latency", action="store_true")
    parser.add_argument("--skip-scan", action="store_true")
    args = parser.parse_args()

    with bench_stack("reminders") as (workdir, env):
        print(f"load average before: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}")
        if not args.skip_latency:
            result = measure_latency(env, args.reminders, args.lead, args.users, workdir, args.logs)
            print(f"latency due → notification, {result['count']:,} reminders due within one minute "
                  f"({args.users} users; {result['sent']:,} sent, {result['duplicates']} sent twice):")
            print(f"  p50 {result['p50_ms']:.0f} ms · p95 {result['p95_ms']:.0f} ms · p99 {result['p99_ms']:.0f} ms "
                  f"· min {result['min_ms']:.0f} ms · max {result['max_ms']:.0f} ms  (target p95 ≤ 2,000 ms)")
            if result["kafka_count"]:
                print(f"  due → event in Kafka (outbox published_at), {result['kafka_count']:,} events: "
                      f"p50 {result['kafka_p50_ms']:.0f} ms · p95 {result['kafka_p95_ms']:.0f} ms")
            if result["late"]:
                print("  late (s into the minute, s late):", ", ".join(f"{a}: {b}" for a, b in result["late"]))
            print(f"load average after latency: {os.getloadavg()[0]:.2f}")
        if not args.skip_scan:
            from django.db import connection

            with connection.cursor() as cursor:
                cursor.execute("TRUNCATE tasks_app_task CASCADE")
            users = bench_users(args.users)
            seed_table(args.small, args.due, users, first=True)
            small = time_scan(args.due, args.runs)
            began = time.perf_counter()
            seed_table(args.big, args.due, users, first=False)
            seeded = time.perf_counter() - began
            big = time_scan(args.due, args.runs)
            print(f"scan cost, {args.due} reminders due (median of {args.runs}; big table seeded in {seeded:.0f} s):")
            for name, size, figures in (("small", args.small, small), ("big", args.big, big)):
                print(f"  {name:5} {size:>9,} tasks: claim {figures['claim_ms']:.1f} ms · "
                      f"look-ahead {figures['lookahead_ms']:.2f} ms · scan query {figures['buffers']} buffers")
            print(f"  ratio big/small: claim {big['claim_ms'] / small['claim_ms']:.2f} · "
                  f"look-ahead {big['lookahead_ms'] / small['lookahead_ms']:.2f} · "
                  f"buffers {big['buffers'] / small['buffers']:.2f}  (target ≈ 1: not growing with the table)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
