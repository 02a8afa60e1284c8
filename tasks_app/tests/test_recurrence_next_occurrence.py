"""The next occurrence of a rule is pure arithmetic on the rule, the start, now and the user's zone."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tasks_app.recurrence import next_occurrence

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "rule, start, expected",
    [
        ("FREQ=WEEKLY", datetime(2027, 1, 11, 9, 0, tzinfo=UTC), datetime(2027, 1, 18, 9, 0, tzinfo=UTC)),
        # Occurrences already in the past are skipped: the next one after now, on the rule's grid.
        ("FREQ=WEEKLY", datetime(2026, 10, 1, 9, 0, tzinfo=UTC), datetime(2026, 12, 3, 9, 0, tzinfo=UTC)),
        ("FREQ=DAILY;UNTIL=20270111T235959Z", datetime(2027, 1, 11, 9, 0, tzinfo=UTC), None),
    ],
)
def test_the_next_occurrence_follows_the_rule_from_its_start(rule, start, expected):
    assert next_occurrence(rule, start=start, now=NOW, zone=UTC) == expected


def test_a_nine_oclock_meeting_stays_at_nine_in_the_zone_given():
    before_switch = datetime(2027, 3, 22, 9, 0, tzinfo=BERLIN)  # CET; clocks go forward on 28 March
    following = next_occurrence("FREQ=WEEKLY", start=before_switch.astimezone(UTC),
                                now=datetime(2027, 3, 1, tzinfo=UTC), zone=BERLIN)
    assert following.astimezone(BERLIN) == datetime(2027, 3, 29, 9, 0, tzinfo=BERLIN)
    assert following.tzinfo == UTC
    # Laid out in UTC instead, the same rule keeps the UTC hour and the local time moves.
    in_utc = next_occurrence("FREQ=WEEKLY", start=before_switch.astimezone(UTC),
                             now=datetime(2027, 3, 1, tzinfo=UTC), zone=UTC)
    assert in_utc - before_switch == timedelta(days=7)
