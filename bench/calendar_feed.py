"""What a calendar feed answer costs: writing the calendar with icalendar vs. the fingerprint that
answers an unchanged refresh with 304 (tasks_app.calendar_feed.building).

    .venv/bin/python bench/calendar_feed.py                  # 100, 500 and 2,000 tasks
    .venv/bin/python bench/calendar_feed.py --tasks 2000 --runs 5

No database: the tasks are built in memory (a third repeating weekly, two tags each, reminders),
as feed_tasks would load them, and handed to the same functions the view calls.  Times are
wall-clock medians; on a shared machine they move with its load.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))


def build_tasks(count: int, user):
    from tasks_app.models import Tag, Task

    tags = [Tag(pk=1, user=user, name="work"), Tag(pk=2, user=user, name="home")]
    start = datetime(2030, 1, 7, 8, 0, tzinfo=UTC)
    tasks = []
    for number in range(count):
        due = start + timedelta(hours=7 * number)
        task = Task(pk=number + 1, user=user, title=f"Task number {number}", description="Some words about it, "
                    "long enough to be folded onto a second line of the calendar file like real notes are.",
                    priority=("P1", "P2", "P3", "P4")[number % 4], due_at=due,
                    recurrence="FREQ=WEEKLY" if number % 3 == 0 else None,
                    series_start=due if number % 3 == 0 else None, reminder_minutes_before=30,
                    created_at=start, updated_at=start)
        # As prefetch_related("tags") leaves it.
        task._prefetched_objects_cache = {"tags": Task.tags.field.related_model.objects.none()}
        task._prefetched_objects_cache["tags"]._result_cache = list(tags)
        task._prefetched_objects_cache["tags"]._prefetch_done = True
        tasks.append(task)
    return tasks


def median_ms(function, runs: int) -> float:
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        function()
        times.append((time.perf_counter() - began) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, nargs="*", default=[100, 500, 2000])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "todo_project.settings")
    os.environ.setdefault("DATABASE_URL", "postgresql://unused/unused")  # never connected to
    import django

    django.setup()
    from django.contrib.auth import get_user_model

    from tasks_app.calendar_feed import building
    from tasks_app.models import Profile

    user = get_user_model()(pk=1, username="bench")
    Profile(user=user, timezone="Europe/Berlin")  # cached on the user, as the view's user has it

    print(f"{'tasks':>6} {'kind':>5} {'write ms':>9} {'ms/task':>8} {'bytes':>9} {'fingerprint ms':>15}")
    for count in args.tasks:
        tasks = build_tasks(count, user)
        for kind in building.KINDS:
            body = building.feed_calendar(user=user, tasks=tasks, kind=kind)
            write = median_ms(lambda: building.feed_calendar(user=user, tasks=tasks, kind=kind), args.runs)
            fingerprint = median_ms(lambda: building.feed_fingerprint(user=user, tasks=tasks, kind=kind), args.runs)
            print(f"{count:>6} {kind:>5} {write:>9.0f} {write / count:>8.2f} {len(body):>9} {fingerprint:>15.1f}")


if __name__ == "__main__":
    main()
