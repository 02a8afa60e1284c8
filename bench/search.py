"""Task list and search latency: through tasks_app.selectors.task_list and as the same raw SQL.

    .venv/bin/python bench/search.py                               # 1,000,000 tasks, 1,000 users
    .venv/bin/python bench/search.py --tasks 100000 --users 100    # quicker

Uses DATABASE_URL when set, otherwise starts the embedded PostgreSQL
(devstack.servers.Postgres) in a temporary folder, removed at the end.  Either
way the tasks go into a fresh database `todo_search_bench` on that server,
migrated like the real one (triggers, indexes and all) and dropped at the end
unless --keep (then --reuse measures it again without seeding).

Seeding uses COPY with the real triggers on: links to tags are copied before
their tasks (Django's foreign keys are DEFERRABLE INITIALLY DEFERRED), so each
task's search vector is computed once, tags included, as it is inserted.  Text
is drawn from a Zipf distribution over a vocabulary of real to-do words followed
by made-up ones: a few words are in most tasks, most words in few.

Three queries, each run for a random user with random words, alternating the
selector as the REST list and the MCP tools call it (the ORM, `rows=True`: the API's columns and the tag
names as an array column, each row a TaskRow rather than a model instance) and the raw SQL (the same statements, typed out, through a plain psycopg cursor
on the same connection, rows left as tuples): the default list, a `q` search
sorted by relevance, and `q` + priority + open-only filters sorted by due date.
Each is what the selector sends: the page (one row more than the limit, each
row with its tag names), and the count unless that first page already holds every match.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from itertools import accumulate
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

BENCH_DATABASE = "todo_search_bench"
TARGET_RATIO = 2.0
TARGET_P95_MS = 30.0

# Frequent words first: the Zipf ranks.  The rest of the vocabulary is made up.
REAL_WORDS = """call email report meeting review plan buy pay send book check update fix write read
prepare schedule order clean invoice budget draft team client project deploy release doctor dentist
groceries milk birthday gift car insurance tax renew passport flight hotel garden laundry kitchen
presentation slides contract proposal interview feedback backup server database migration bug test
document notes agenda quarterly weekly monthly friday monday deadline""".split()
SYLLABLES = [c + v for c in "bcdfghjklmnprstvz" for v in ("a", "e", "i", "o", "u", "ai", "ou")]
TAG_NAMES = """work home urgent personal errands finance health family shopping travel admin
reading study chores garden car kids music sport ideas later""".split()


def vocabulary(size: int, rng: random.Random) -> list[str]:
    words, seen = list(REAL_WORDS), set(REAL_WORDS)
    while len(words) < size:
        word = "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4)))
        if word not in seen:
            seen.add(word)
            words.append(word)
    return words


# --------------------------------------------------------------------------- database


def bench_database_url(server_url: str) -> str:
    return server_url.rsplit("/", 1)[0] + "/" + BENCH_DATABASE


def create_database(server_url: str, *, reuse: bool) -> bool:
    """Create the bench database (dropping an old one unless reusing); True if it already existed."""
    import psycopg

    admin_url = server_url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [BENCH_DATABASE]).fetchone()
        if exists and reuse:
            return True
        conn.execute(f"DROP DATABASE IF EXISTS {BENCH_DATABASE} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {BENCH_DATABASE}")
    return False


def drop_database(server_url: str) -> None:
    import psycopg

    admin_url = server_url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {BENCH_DATABASE} WITH (FORCE)")


def seed(conn, *, tasks: int, users: int, seed_value: int) -> None:
    """`tasks` tasks spread evenly over `users` users, with COPY, in batches of users."""
    rng = random.Random(seed_value)
    words = vocabulary(5000, rng)
    cum_weights = list(accumulate(1 / rank for rank in range(1, len(words) + 1)))
    now = datetime.now(timezone.utc)
    per_user = [tasks // users + (1 if n < tasks % users else 0) for n in range(users)]
    started = time.perf_counter()
    with conn.cursor() as cursor:
        with conn.transaction(), cursor.copy(
            "COPY auth_user (id, password, is_superuser, username, first_name, last_name, email, is_staff, "
            "is_active, date_joined) FROM STDIN"
        ) as copy:
            for user_id in range(1, users + 1):
                copy.write_row((user_id, "!", False, f"bench-{user_id:06d}", "", "", "", False, True, now))
    task_id = tag_id = 0
    batch_users = max(1, 50_000 // max(1, tasks // users))
    for first in range(0, users, batch_users):
        user_ids = range(first + 1, min(users, first + batch_users) + 1)
        tags, links, rows = [], [], []
        for user_id in user_ids:
            user_tags = []
            for name in rng.sample(TAG_NAMES, 12):
                tag_id += 1
                tags.append((tag_id, user_id, name, now))
                user_tags.append(tag_id)
            for n in range(per_user[user_id - 1]):
                task_id += 1
                title = " ".join(rng.choices(words, cum_weights=cum_weights, k=rng.randint(2, 7)))
                description = " ".join(rng.choices(words, cum_weights=cum_weights, k=rng.choice((0, 0, 5, 12, 30))))
                completed = rng.random() < 0.3
                due = now + timedelta(minutes=rng.randint(-60 * 24 * 60, 60 * 24 * 60)) if rng.random() < 0.6 else None
                created = now - timedelta(days=730) + timedelta(minutes=n * 700 + rng.randint(0, 600))
                rows.append((task_id, user_id, title.capitalize(), description, f"P{rng.randint(1, 4)}", due,
                             completed, created + timedelta(days=1) if completed else None, created, created))
                for linked in rng.sample(user_tags, rng.choice((0, 0, 1, 1, 2, 3))):
                    links.append((task_id, linked))
        with conn.transaction(), conn.cursor() as cursor:
            # Links first, tasks last: each task's vector is computed once, with its tags, on insert.
            with cursor.copy("COPY tasks_app_tag (id, user_id, name, created_at) FROM STDIN") as copy:
                for row in tags:
                    copy.write_row(row)
            with cursor.copy("COPY tasks_app_task_tags (task_id, tag_id) FROM STDIN") as copy:
                for row in links:
                    copy.write_row(row)
            with cursor.copy("COPY tasks_app_task (id, user_id, title, description, priority, due_at, completed, "
                             "completed_at, created_at, updated_at) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        rate = task_id / (time.perf_counter() - started)
        print(f"\r  seeded {task_id:,}/{tasks:,} tasks ({rate:,.0f}/s)", end="", flush=True)
    print()
    for table in ("auth_user", "tasks_app_tag", "tasks_app_task"):
        conn.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
    # Django keeps its connection in autocommit: VACUUM may run here.
    conn.execute("VACUUM (ANALYZE) auth_user, tasks_app_tag, tasks_app_task_tags, tasks_app_task")


# --------------------------------------------------------------------------- the queries

def raw_queries(kind: str):
    """(count SQL, page SQL) with %s placeholders, as task_list(...) for `kind` builds them."""
    from tasks_app.models import Task
    from tasks_app.selectors import ROW_FIELDS

    # The columns the selector selects for the API (selectors.TaskRow): the task's API fields.
    columns = ", ".join(Task._meta.get_field(name).column for name in ROW_FIELDS)
    user = "user_id = %(user)s"
    # The last word of q also matches as a prefix; whole-word matches rank first (selectors._clean_q).
    matching = ("(websearch_to_tsquery(tasks_app_search_config(), %(head)s) && "
                "to_tsquery(tasks_app_search_config(), quote_literal(%(last)s::text) || ':*'))")
    search = f"search_vector @@ {matching}"
    rank = (f"(ts_rank(search_vector, {matching}, 32) + CASE WHEN search_vector @@ "
            "websearch_to_tsquery(tasks_app_search_config(), %(q)s) THEN 1.0 ELSE 0.0 END)::double precision")
    if kind == "default list":
        where, key, order = user, "created_at", "created_at DESC, id DESC"
    elif kind == "q search":
        where, key, order = f"{user} AND {search}", rank, "sort_key DESC, id DESC"
    else:  # q + filters + sort
        where = f"{user} AND {search} AND priority IN ('P1', 'P2') AND NOT completed"
        key, order = "due_at", "due_at ASC NULLS LAST, id ASC"
    # Each task's tag names as an array column of the page (selectors._tag_names).
    tag_names = ("ARRAY(SELECT tag.name FROM tasks_app_tag tag JOIN tasks_app_task_tags link ON tag.id = link.tag_id "
                 "WHERE tag.user_id = %(user)s AND link.task_id = tasks_app_task.id)")
    return (f"SELECT count(*) FROM tasks_app_task WHERE {where}",
            f"SELECT {columns}, {key} AS sort_key, {tag_names} AS tag_names FROM tasks_app_task WHERE {where} "
            f"ORDER BY {order} LIMIT %(limit)s")


def run_selector(kind: str, user, q: str | None):
    from tasks_app.selectors import task_list

    if kind == "default list":
        page = task_list(user=user, rows=True)
    elif kind == "q search":
        page = task_list(user=user, q=q, rows=True)
    else:
        page = task_list(user=user, q=q, priorities=["P1", "P2"], completed=False, sort="due_at", rows=True)
    return [task.pk for task in page.items], page.count


def run_raw(cursor, kind: str, user_id: int, q: str | None):
    count_sql, page_sql = raw_queries(kind)
    head, _, last = (q or "").rpartition(" ")
    params = {"user": user_id, "q": q, "head": head, "last": last, "limit": 51}
    cursor.execute(page_sql, params)
    rows = cursor.fetchall()
    if len(rows) <= 50:
        count = len(rows)  # the first page holds every match, as the selector also notices
    else:
        cursor.execute(count_sql, params)
        count = cursor.fetchone()[0]
    return [row[0] for row in rows[:50]], count


def percentiles(samples: list[float]) -> tuple[float, float, float]:
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    return cuts[49], cuts[94], cuts[98]


def measure(iterations: int, warmup: int, users: int, rng: random.Random) -> dict[str, dict[str, list[float]]]:
    import psycopg
    from django.contrib.auth import get_user_model
    from django.db import connection

    user_objects = {user.pk: user for user in get_user_model().objects.filter(username__startswith="bench-")}
    words = vocabulary(5000, random.Random(0))
    cursor = psycopg.ClientCursor(connection.connection)  # literal parameters, as Django sends them
    results: dict[str, dict[str, list[float]]] = {}
    for kind in ("default list", "q search", "q + filters + sort"):
        timings = {"selector": [], "raw": []}
        for n in range(warmup + iterations):
            user_id = rng.randint(1, users)
            # Mostly frequent words, sometimes two; the Zipf head is where searches are slowest.
            q = " ".join(rng.choice(words[:300]) for _ in range(rng.choice((1, 1, 1, 2))))
            order = ("selector", "raw") if n % 2 else ("raw", "selector")
            found = {}
            for which in order:
                started = time.perf_counter()
                if which == "selector":
                    found[which] = run_selector(kind, user_objects[user_id], q)
                else:
                    found[which] = run_raw(cursor, kind, user_id, q)
                elapsed = (time.perf_counter() - started) * 1000
                if n >= warmup:
                    timings[which].append(elapsed)
            if found["selector"] != found["raw"]:
                raise SystemExit(f"{kind}: the raw SQL and the selector disagree for user {user_id}, q={q!r}")
        results[kind] = timings
    return results


# --------------------------------------------------------------------------- main


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=1_000_000, help="tasks to seed (default 1,000,000)")
    parser.add_argument("--users", type=int, default=1_000, help="users they are spread over (default 1,000)")
    parser.add_argument("--iterations", type=int, default=1000, help="timed runs per query (default 1000)")
    parser.add_argument("--warmup", type=int, default=100, help="untimed runs first (default 100)")
    parser.add_argument("--seed", type=int, default=42, help="random seed for data and queries")
    parser.add_argument("--keep", action="store_true", help=f"keep the {BENCH_DATABASE} database")
    parser.add_argument("--reuse", action="store_true",
                        help=f"measure an existing {BENCH_DATABASE} (from --keep) without seeding")
    args = parser.parse_args()
    if args.tasks < 1 or args.users < 1 or args.users > args.tasks:
        parser.error("need 1 <= --users <= --tasks")

    workdir = Path(tempfile.mkdtemp(prefix="todo-search-bench-"))
    os.chmod(workdir, 0o755)  # as root, PostgreSQL runs as an unprivileged user that must reach its data
    server = None
    server_url = os.environ.get("DATABASE_URL")
    try:
        if not server_url:
            from devstack.servers import Postgres

            if args.keep or args.reuse:
                parser.error("--keep/--reuse need DATABASE_URL (the embedded server is thrown away)")
            print("starting embedded PostgreSQL …")
            server = Postgres(workdir / "postgres", durable=False).start()
            server_url = server.url
        reused = create_database(server_url, reuse=args.reuse)
        # A production-like process: DEBUG off (no per-query bookkeeping in Django).
        os.environ.update({
            "DATABASE_URL": bench_database_url(server_url), "DJANGO_SETTINGS_MODULE": "todo_project.settings",
            "DJANGO_DEBUG": "false", "DJANGO_SECRET_KEY": "bench-only", "ALLOWED_HOSTS": "localhost",
            "DEVSTACK_DATA_DIR": str(workdir),
        })
        import django

        django.setup()
        from django.core.management import call_command
        from django.db import connection

        connection.ensure_connection()
        with connection.cursor() as cursor:
            cursor.execute("SELECT version(), current_setting('shared_buffers')")
            version, shared_buffers = cursor.fetchone()
        print(f"server: {version.split(' on ')[0]}, shared_buffers={shared_buffers}, {os.cpu_count()} CPUs")
        if not reused:
            call_command("migrate", verbosity=0)
            print(f"seeding {args.tasks:,} tasks across {args.users:,} users …")
            started = time.perf_counter()
            seed(connection.connection, tasks=args.tasks, users=args.users, seed_value=args.seed)
            print(f"  seeded, vacuumed and analyzed in {time.perf_counter() - started:.0f} s")
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*), count(DISTINCT user_id) FROM tasks_app_task")
            tasks, users = cursor.fetchone()
            cursor.execute("SELECT pg_size_pretty(pg_total_relation_size('tasks_app_task'))")
            size = cursor.fetchone()[0]
        print(f"{tasks:,} tasks of {users:,} users ({size} with indexes); "
              f"{args.iterations} timed runs per query after {args.warmup} warm-up runs")

        load_before = os.getloadavg()[0]
        results = measure(args.iterations, args.warmup, users, random.Random(args.seed))
        # Other processes on the machine slow both sides alike; the load says how quiet it was.
        print(f"load average (1 min) before / after measuring: {load_before:.2f} / {os.getloadavg()[0]:.2f}")
        print()
        print(f"{'query':<20} {'selector p50 / p95 / p99 ms':>30} {'raw SQL p50 / p95 / p99 ms':>30} "
              f"{'p95 ratio':>10}")
        missed = []
        for kind, timings in results.items():
            selector, raw = percentiles(timings["selector"]), percentiles(timings["raw"])
            ratio = selector[1] / raw[1]
            if selector[1] > TARGET_P95_MS:
                missed.append(f"{kind}: selector p95 {selector[1]:.1f} ms > {TARGET_P95_MS:g} ms")
            if ratio > TARGET_RATIO:
                missed.append(f"{kind}: selector p95 is {ratio:.2f}× raw SQL > {TARGET_RATIO:g}×")
            print(f"{kind:<20} {' / '.join(f'{v:6.2f}' for v in selector):>30} "
                  f"{' / '.join(f'{v:6.2f}' for v in raw):>30} {ratio:>9.2f}×")
        print()
        print(f"targets: selector p95 ≤ {TARGET_P95_MS:g} ms and ≤ {TARGET_RATIO:g}× raw SQL p95: "
              + ("all met" if not missed else "missed:\n  " + "\n  ".join(missed)))
        ok = not missed
        if not args.keep:
            connection.close()
            drop_database(server_url)
        return 0 if ok else 1
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
