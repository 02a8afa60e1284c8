"""A series is laid out in its owner's time zone: a weekly 09:00 in Europe/Berlin stays 09:00 local
across both daylight-saving changes, occurrence after occurrence, through the services."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tasks_app import services
from tasks_app.models import Task

pytestmark = pytest.mark.django_db

BERLIN = ZoneInfo("Europe/Berlin")


def occurrences(first: Task, count: int) -> list[Task]:
    """Complete each occurrence and create the next, as the worker does after commit."""
    found = [first]
    while len(found) < count:
        services.task_complete(task=found[-1])
        following = services.task_spawn_next_occurrence(task_id=found[-1].pk)
        assert following is not None
        found.append(following)
    return found


@pytest.mark.parametrize("first_monday, utc_hours", [
    # Clocks go forward on the last Sunday of March 2027 (the 28th): 08:00 UTC, then 07:00 UTC.
    (datetime(2027, 3, 15, 9, 0), [8, 8, 7, 7]),
    # And back on the last Sunday of October 2027 (the 31st): 07:00 UTC, then 08:00 UTC.
    (datetime(2027, 10, 18, 9, 0), [7, 7, 8, 8]),
])
def test_a_weekly_nine_oclock_series_in_berlin_stays_at_nine_across_the_switch(alice, first_monday, utc_hours):
    services.profile_update(user=alice, timezone="Europe/Berlin")
    # A naive due date from the API, chat or MCP is read in the user's zone.
    first = services.task_create(user=alice, title="Team meeting", due_at=first_monday, recurrence="FREQ=WEEKLY")

    series = occurrences(first, 4)

    local = [task.due_at.astimezone(BERLIN) for task in series]
    assert [(when.weekday(), when.hour, when.minute) for when in local] == [(0, 9, 0)] * 4
    assert [when.date() for when in local] == [first_monday.date() + timedelta(weeks=step) for step in range(4)]
    assert [task.due_at.astimezone(UTC).hour for task in series] == utc_hours
    assert [task.series_position for task in series] == [1, 2, 3, 4]


def test_the_same_series_for_a_user_in_utc_keeps_the_utc_hour_instead(alice):
    # The control: laid out in UTC, 08:00 UTC stays 08:00 UTC and Berlin's local time moves.
    first = services.task_create(user=alice, title="Team meeting", due_at=datetime(2027, 3, 22, 8, 0, tzinfo=UTC),
                                 recurrence="FREQ=WEEKLY")
    second = occurrences(first, 2)[1]
    assert second.due_at == datetime(2027, 3, 29, 8, 0, tzinfo=UTC)
    assert second.due_at.astimezone(BERLIN).hour == 10
