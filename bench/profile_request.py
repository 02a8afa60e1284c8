"""Where the milliseconds of one request go: `POST /api/tasks` and `GET /api/tasks?limit=50` through
the whole ASGI app (body limit, /mcp router, Django's ASGI handler, every middleware, Bearer auth,
the view, the ORM against a real PostgreSQL, on-commit dispatch to a real Redis, serialisation).

    .venv/bin/python bench/profile_request.py                 # 300 timed requests each, then profiles
    .venv/bin/python bench/profile_request.py --requests 100 --top 25

Uses DATABASE_URL / REDIS_URL / KAFKA_BOOTSTRAP_SERVERS when set, otherwise starts the embedded
services in a temporary folder (bench/events.py's bench_stack: fresh migrated database, removed at
the end).  No worker runs: the jobs a create queues wait in Redis (queuing them is timed).

Requests are sent in process (httpx2's ASGITransport, no socket), one at a time, so the figures are
the app's own cost without the network and the server loop.  Django runs sync views in a thread of
their own, which cProfile (one thread) would not see: the profile is two profilers added up, one in
the event loop's thread and one in the sync thread (a first middleware enables it there).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import os
import pstats
import statistics
import sys
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
sys.path.insert(0, str(BASE_DIR / "bench"))

class ProfileSyncThread:
    """Put first in MIDDLEWARE: profiles the sync part of each request in the thread it runs in."""

    sync_capable, async_capable = True, False
    profile: cProfile.Profile | None = None  # set by main() (on this class as Django imports it)

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        profile = type(self).profile
        if profile is None:
            return self.get_response(request)
        profile.enable()
        try:
            return self.get_response(request)
        finally:
            profile.disable()


_statements = 0


def _count_statements() -> None:
    """Count every SQL statement Django sends (its CursorWrapper: all ORM and raw cursor queries)."""
    from django.db.backends import utils

    def counting(original):
        def wrapper(self, *args, **kwargs):
            global _statements
            _statements += 1
            return original(self, *args, **kwargs)
        return wrapper

    utils.CursorWrapper._execute = counting(utils.CursorWrapper._execute)
    utils.CursorWrapper._executemany = counting(utils.CursorWrapper._executemany)


def _database_counts() -> tuple[float, float]:
    """(statements executed, connections taken: opened, or from the pool) so far in this process."""
    from prometheus_client import REGISTRY

    taken = REGISTRY.get_sample_value("django_db_new_connections_total", {"alias": "default", "vendor": "postgresql"})
    return float(_statements), taken or 0.0


def percentile(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))]


async def _timed(client, n, send):
    took = []
    for i in range(n):
        began = time.perf_counter()
        response = await send(client, i)
        took.append((time.perf_counter() - began) * 1000)
        if not 200 <= response.status_code < 300:
            raise SystemExit(f"{response.request.method} {response.request.url}: {response.status_code} {response.text}")
    return took


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--top", type=int, default=30, help="rows of each profile")
    parser.add_argument("--no-profile", action="store_true", help="only the timings")
    parser.add_argument("--only", help="time only the operations whose name contains this (e.g. healthz), for an "
                        "outside sampling profiler such as py-spy")
    parser.add_argument("--sort", default="cumulative", choices=["cumulative", "tottime"],
                        help="order of the profile rows: cumulative (where the time goes) or tottime (hot spots)")
    args = parser.parse_args(argv)

    os.environ.setdefault("INTERNAL_PORT", "0")  # no internal metrics thread in this process
    os.environ.setdefault("DJANGO_DEBUG", "false")
    os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-secret-key-" + "x" * 40)
    os.environ.setdefault("ALLOWED_HOSTS", "testserver,localhost")
    from events import bench_stack  # bench/events.py

    with bench_stack("profile"):
        from django.conf import settings

        settings.MIDDLEWARE = ["profile_request.ProfileSyncThread", *settings.MIDDLEWARE]
        import httpx2
        from django.contrib.auth import get_user_model

        _count_statements()
        from tasks_app import accounts
        from todo_project.asgi import application

        user = get_user_model().objects.create_user("bench", password="bench-password-1")
        token = accounts.api_token_issue(user=user, name="bench")
        headers = {"Authorization": f"Bearer {token}", "Host": "localhost"}

        async def create(client, i):
            return await client.post("/api/tasks", headers=headers,
                                     json={"title": f"Bench task {i}", "tags": ["work", "home"],
                                           "due_at": "2030-01-01T09:00:00Z"})

        async def create_plain(client, i):
            return await client.post("/api/tasks", headers=headers, json={"title": f"Plain task {i}"})

        async def list50(client, i):
            return await client.get("/api/tasks?limit=50", headers=headers)

        async def health(client, i):
            return await client.get("/healthz", headers={"Host": "localhost"})

        operations = {"POST /api/tasks (2 tags, due)": create, "POST /api/tasks (plain)": create_plain,
                      "GET /api/tasks?limit=50": list50, "GET /healthz": health}
        operations = {name: send for name, send in operations.items() if args.only is None or args.only in name}

        async def run():
            from profile_request import ProfileSyncThread  # the class Django loaded, not __main__'s

            transport = httpx2.ASGITransport(app=application)
            async with httpx2.AsyncClient(transport=transport, base_url="https://localhost") as client:
                for send in operations.values():  # warm up: imports, first connection, caches
                    await _timed(client, 20, send)
                database = settings.DATABASES["default"]
                print(f"one at a time, in process, {args.requests} requests each (load average "
                      f"{os.getloadavg()[0]:.2f}; CONN_MAX_AGE={database['CONN_MAX_AGE']}, "
                      f"pool={database['OPTIONS'].get('pool')}):")
                for name, send in operations.items():
                    cpu_began, counted_before = time.process_time(), _database_counts()
                    took = await _timed(client, args.requests, send)
                    # CPU of this process per request, and statements and connections per request:
                    # what a loaded machine's waiting does not inflate.
                    cpu = (time.process_time() - cpu_began) * 1000 / args.requests
                    statements, connects = ((after - before) / args.requests
                                            for after, before in zip(_database_counts(), counted_before, strict=True))
                    print(f"  {name:32s} p50 {statistics.median(took):6.2f} ms  p95 {percentile(took, 95):6.2f} ms"
                          f"  app CPU {cpu:5.2f} ms  SQL statements {statements:4.1f}  connections taken {connects:3.1f}")
                for name, send in operations.items():
                    if "plain" in name or args.no_profile:
                        continue
                    ProfileSyncThread.profile = sync_profile = cProfile.Profile()
                    loop_profile = cProfile.Profile()
                    loop_profile.enable()
                    await _timed(client, min(args.requests, 100), send)
                    loop_profile.disable()
                    stats = pstats.Stats(loop_profile, stream=io.StringIO())
                    ProfileSyncThread.profile = None
                    sync_profile.create_stats()
                    if sync_profile.stats:  # none for /healthz: HealthProbe answers it before Django
                        stats.add(sync_profile)
                    out = io.StringIO()
                    stats.stream = out
                    stats.sort_stats(args.sort).print_stats(args.top)
                    print(f"\n===== profile: {name} ({min(args.requests, 100)} requests; times are totals) =====")
                    print("\n".join(line for line in out.getvalue().splitlines() if line.strip())[:12000])

        asyncio.run(run())
    return 0


if __name__ == "__main__":
    sys.exit(main())
