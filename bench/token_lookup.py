"""The statement behind every Bearer request, three ways: the ORM's `select_related` query, the app's
lookup (tasks_app.accounts.api_token_find: SQL written once, rows built with Model.from_db) and the
same SQL sent raw with nothing built from its row.  p50 and p95 per call, in process.

    .venv/bin/python bench/token_lookup.py                  # 2,000 calls each, three rounds
    .venv/bin/python bench/token_lookup.py --calls 500 --rounds 1

Uses DATABASE_URL / REDIS_URL / KAFKA_BOOTSTRAP_SERVERS when set, otherwise starts the embedded services
in a temporary folder (bench/events.py's bench_stack: fresh migrated database, removed at the end).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
sys.path.insert(0, str(BASE_DIR / "bench"))


def timed(call, calls: int) -> tuple[float, float]:
    for _ in range(min(50, calls)):
        call()
    took = []
    for _ in range(calls):
        began = time.perf_counter()
        call()
        took.append((time.perf_counter() - began) * 1e6)
    took.sort()
    return statistics.median(took), took[int(0.95 * (len(took) - 1))]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)

    from events import bench_stack

    with bench_stack("token"):
        from django.contrib.auth import get_user_model
        from django.db import connection
        from django.utils import timezone

        from tasks_app import accounts
        from tasks_app.models import ApiToken
        from tasks_app.services import profiles

        user = get_user_model().objects.create_user("bench", password="bench-Password-1")
        profiles.profile_ensure(user=user, timezone="Europe/Berlin")
        token = accounts.api_token_issue(user=user)
        key_hash = accounts._hash_token(token)
        accounts.api_token_find(token)  # last_used_at set: the calls below only read

        def orm():
            found = (ApiToken.objects.select_related("user__profile")
                     .filter(key_hash=accounts._hash_token(token), expires_at__gt=timezone.now()).first())
            return found.user.profile.timezone

        def app():
            return accounts.api_token_find(token).user.profile.timezone

        def raw():
            with connection.cursor() as cursor:
                cursor.execute(accounts._token_lookup().sql, [key_hash, timezone.now()])
                return cursor.fetchone()

        print(f"{args.calls} calls per way and round, load average {os.getloadavg()[0]:.2f}")
        for round_ in range(1, args.rounds + 1):
            for name, call in (("ORM select_related", orm), ("api_token_find", app), ("raw SQL", raw)):
                p50, p95 = timed(call, args.calls)
                print(f"round {round_}  {name:20s} p50 {p50:7.1f} µs  p95 {p95:7.1f} µs")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
