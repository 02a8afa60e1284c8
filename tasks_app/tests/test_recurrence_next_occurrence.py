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


# --------------------------------------------------------------------------- next_after: a series' next occurrence

import random  # noqa: E402
import time  # noqa: E402

from dateutil.rrule import rrulestr  # noqa: E402

from tasks_app.recurrence import InvalidRecurrence, check_series, next_after  # noqa: E402

pytestmark = pytest.mark.pure  # no services: runs in the fast tier (make test ARGS='-m pure')


def utc(*args):
    return datetime(*args, tzinfo=UTC)


def berlin(*args, fold=0):
    return datetime(*args, tzinfo=BERLIN, fold=fold)


def series(rule, anchor, steps, zone=UTC):
    """The first `steps` occurrences after the anchor, each found from the previous one."""
    found, after = [], anchor
    for _ in range(steps):
        after = next_after(rule, anchor=anchor, after=after, zone=zone)
        found.append(after)
        if after is None:
            break
    return found


@pytest.mark.parametrize(
    "rule, anchor, expected",
    [
        # Month-end: the last day of shorter months, back to the 31st when the month has it.
        ("FREQ=MONTHLY", utc(2027, 1, 31, 9), [utc(2027, 2, 28, 9), utc(2027, 3, 31, 9), utc(2027, 4, 30, 9)]),
        ("FREQ=MONTHLY", utc(2028, 1, 31, 9), [utc(2028, 2, 29, 9), utc(2028, 3, 31, 9)]),
        ("FREQ=MONTHLY", utc(2027, 1, 30, 9), [utc(2027, 2, 28, 9), utc(2027, 3, 30, 9)]),
        ("FREQ=MONTHLY", utc(2027, 1, 29, 9), [utc(2027, 2, 28, 9), utc(2027, 3, 29, 9)]),
        ("FREQ=MONTHLY;INTERVAL=2", utc(2027, 7, 31, 9), [utc(2027, 9, 30, 9), utc(2027, 11, 30, 9),
                                                          utc(2028, 1, 31, 9)]),
        ("FREQ=YEARLY", utc(2028, 2, 29, 9), [utc(2029, 2, 28, 9), utc(2030, 2, 28, 9), utc(2031, 2, 28, 9),
                                              utc(2032, 2, 29, 9)]),
        # Several times a day: every time of the clamped day, not only the last.
        ("FREQ=MONTHLY;BYHOUR=9,17", utc(2027, 1, 31, 9), [utc(2027, 1, 31, 17), utc(2027, 2, 28, 9),
                                                          utc(2027, 2, 28, 17), utc(2027, 3, 31, 9)]),
        # A rule that names its day keeps RFC 5545's meaning: months without it are skipped.
        ("FREQ=MONTHLY;BYMONTHDAY=31", utc(2027, 1, 31, 9), [utc(2027, 3, 31, 9), utc(2027, 5, 31, 9)]),
        ("FREQ=MONTHLY;BYMONTHDAY=-1", utc(2027, 1, 31, 9), [utc(2027, 2, 28, 9), utc(2027, 3, 31, 9)]),
        # Two months a year: not clamped (one BYSETPOS over the year would keep only June).
        ("FREQ=YEARLY;BYMONTH=1,6", utc(2027, 1, 31, 9), [utc(2028, 1, 31, 9)]),
        ("FREQ=YEARLY;BYMONTH=1,6", utc(2027, 1, 30, 9), [utc(2027, 6, 30, 9), utc(2028, 1, 30, 9)]),
        # BYSETPOS: the last weekday of the month; the third Friday.
        ("FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1", utc(2027, 1, 29, 9), [utc(2027, 2, 26, 9),
                                                                                utc(2027, 3, 31, 9)]),
        ("FREQ=MONTHLY;BYDAY=FR;BYSETPOS=3", utc(2026, 1, 16, 9), [utc(2026, 2, 20, 9), utc(2026, 3, 20, 9)]),
        ("FREQ=DAILY;BYHOUR=9,17;BYSETPOS=-1", utc(2027, 1, 4, 8), [utc(2027, 1, 4, 17), utc(2027, 1, 5, 17)]),
        # WKST decides which weeks INTERVAL=2 counts (RFC 5545's own example, section 3.8.5.3).
        ("FREQ=WEEKLY;INTERVAL=2;BYDAY=TU,SU;WKST=MO", utc(1997, 8, 5, 9),
         [utc(1997, 8, 10, 9), utc(1997, 8, 19, 9), utc(1997, 8, 24, 9)]),
        ("FREQ=WEEKLY;INTERVAL=2;BYDAY=TU,SU;WKST=SU", utc(1997, 8, 5, 9),
         [utc(1997, 8, 17, 9), utc(1997, 8, 19, 9), utc(1997, 8, 31, 9)]),
        # UNTIL is inclusive and ends the series.
        ("FREQ=DAILY;UNTIL=20270112T090000Z", utc(2027, 1, 11, 9), [utc(2027, 1, 12, 9), None]),
        ("FREQ=DAILY;UNTIL=20270111T235959Z", utc(2027, 1, 11, 9), [None]),
        # COUNT is the series' business (Task.series_position), not the search's.
        ("FREQ=DAILY;COUNT=1", utc(2027, 1, 11, 9), [utc(2027, 1, 12, 9)]),
        # The edges of the due-date range.
        ("FREQ=DAILY", utc(2999, 12, 30, 9), [utc(2999, 12, 31, 9), utc(3000, 1, 1, 9)]),
        ("FREQ=HOURLY;INTERVAL=1000", utc(1970, 1, 1), [utc(1970, 2, 11, 16)]),
    ],
)
def test_a_series_follows_its_rule_from_its_anchor(rule, anchor, expected):
    assert series(rule, anchor, len(expected)) == expected


@pytest.mark.parametrize(
    "rule, anchor, after, expected",
    [
        # Far-past anchors: the grid is kept, decades are not walked.
        ("FREQ=HOURLY", utc(1900, 1, 1), utc(2026, 11, 28, 12, 30), utc(2026, 11, 28, 13)),
        ("FREQ=HOURLY;INTERVAL=5", utc(2026, 1, 16, 9, 30), utc(2026, 11, 28), utc(2026, 11, 28, 0, 30)),
        ("FREQ=WEEKLY;INTERVAL=2", utc(1970, 1, 5, 9), utc(2026, 11, 23, 10), utc(2026, 12, 7, 9)),
        ("FREQ=WEEKLY;INTERVAL=2;BYDAY=TU,SU;WKST=SU", utc(1997, 8, 5, 9), utc(2026, 11, 28),
         utc(2026, 11, 29, 9)),
        ("FREQ=WEEKLY;INTERVAL=2;BYDAY=TU,SU;WKST=MO", utc(1997, 8, 5, 9), utc(2026, 11, 28),
         utc(2026, 12, 1, 9)),
        ("FREQ=MONTHLY", utc(1970, 1, 31, 9), utc(2026, 2, 1), utc(2026, 2, 28, 9)),
        ("FREQ=YEARLY;INTERVAL=4", utc(1972, 2, 29, 9), utc(2026, 11, 28), utc(2028, 2, 29, 9)),
        ("FREQ=YEARLY;INTERVAL=50", utc(1990, 6, 1), utc(2000, 1, 1), utc(2040, 6, 1)),
        # Far-future: near the end of the due-date range and beyond what dateutil can lay out.
        ("FREQ=WEEKLY", utc(2999, 12, 27, 9), utc(2999, 12, 31), utc(3000, 1, 3, 9)),
        ("FREQ=DAILY", utc(9990, 1, 16, 9), utc(9990, 11, 28), utc(9990, 11, 28, 9)),
    ],
)
def test_the_next_occurrence_after_a_moment_keeps_the_series_grid(rule, anchor, after, expected):
    assert next_after(rule, anchor=anchor, after=after, zone=UTC) == expected


def test_a_nine_oclock_series_stays_at_nine_in_berlin_across_both_switches():
    spring = series("FREQ=WEEKLY", berlin(2027, 3, 22, 9).astimezone(UTC), 2, BERLIN)
    assert [moment.astimezone(BERLIN) for moment in spring] == [berlin(2027, 3, 29, 9), berlin(2027, 4, 5, 9)]
    assert spring[0] - berlin(2027, 3, 22, 9) == timedelta(days=7, hours=-1)
    autumn = series("FREQ=WEEKLY", berlin(2027, 10, 25, 9), 1, BERLIN)
    assert autumn[0].astimezone(BERLIN) == berlin(2027, 11, 1, 9)
    assert autumn[0] - berlin(2027, 10, 25, 9) == timedelta(days=7, hours=1)
    monthly = series("FREQ=MONTHLY", berlin(2027, 1, 31, 9), 3, BERLIN)
    assert [moment.astimezone(BERLIN) for moment in monthly] == [berlin(2027, 2, 28, 9), berlin(2027, 3, 31, 9),
                                                                  berlin(2027, 4, 30, 9)]


def test_a_time_the_clock_skips_is_read_once_and_the_series_moves_on():
    # 28 March 2027: 02:00 CET jumps to 03:00 CEST; 02:30 that day is read as 03:30 CEST.
    found = series("FREQ=DAILY", berlin(2027, 3, 27, 2, 30), 2, BERLIN)
    assert found == [utc(2027, 3, 28, 1, 30), berlin(2027, 3, 29, 2, 30).astimezone(UTC)]


def test_in_the_hour_the_clock_repeats_the_answer_is_still_after_the_moment_given():
    # 31 October 2027: 03:00 CEST falls back to 02:00 CET; 02:30 happens twice.
    after = berlin(2027, 10, 31, 2, 10, fold=1).astimezone(UTC)  # the second 02:10 (CET), 01:10 UTC
    following = next_after("FREQ=HOURLY", anchor=berlin(2027, 10, 30, 0, 30), after=after, zone=BERLIN)
    assert following == utc(2027, 10, 31, 1, 30)  # the second 02:30, not the first one (00:30 UTC)
    hourly = series("FREQ=HOURLY", berlin(2027, 10, 31, 1, 30), 3, BERLIN)
    assert hourly == sorted(set(hourly)), "strictly increasing"


RULES_TO_COMPARE = [
    "FREQ=HOURLY", "FREQ=HOURLY;INTERVAL=7", "FREQ=HOURLY;INTERVAL=6;BYHOUR=3,9", "FREQ=HOURLY;BYDAY=MO,FR",
    "FREQ=DAILY", "FREQ=DAILY;INTERVAL=3", "FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR", "FREQ=DAILY;BYHOUR=8,20",
    "FREQ=WEEKLY", "FREQ=WEEKLY;INTERVAL=3;BYDAY=TU,SA", "FREQ=WEEKLY;INTERVAL=2;WKST=SU;BYDAY=SU,WE",
    "FREQ=WEEKLY;INTERVAL=2;WKST=TH", "FREQ=MONTHLY", "FREQ=MONTHLY;INTERVAL=5", "FREQ=MONTHLY;BYDAY=-1SU",
    "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=1,-1", "FREQ=MONTHLY;BYMONTHDAY=1,15,-1",
    "FREQ=YEARLY", "FREQ=YEARLY;INTERVAL=3;BYMONTH=3,9", "FREQ=YEARLY;BYWEEKNO=20;BYDAY=MO",
    "FREQ=YEARLY;BYYEARDAY=100,-1", "FREQ=YEARLY;BYMONTH=11;BYDAY=4TH",
]


def test_next_after_agrees_with_dateutil_walking_the_whole_series():
    """Where a plain walk from the anchor is affordable, its answer is the reference (anchors on
    days 1-28: month-end clamping is the one intended difference)."""
    rng = random.Random(11)
    for _ in range(600):
        rule = rng.choice(RULES_TO_COMPARE)
        anchor = datetime(rng.randrange(1995, 2030), rng.randrange(1, 13), rng.randrange(1, 29),
                          rng.randrange(24), rng.choice((0, 15, 30)))
        if "BYHOUR=3,9" in rule:
            anchor = anchor.replace(hour=3)
        after = anchor + timedelta(hours=rng.randrange(0, 24 * 365 * 8))
        expected = rrulestr(rule, dtstart=anchor).after(after, inc=False)
        found = next_after(rule, anchor=anchor.replace(tzinfo=UTC), after=after.replace(tzinfo=UTC), zone=UTC)
        assert found == expected.replace(tzinfo=UTC), (rule, anchor, after)


# Rules within every bound that never occur: the most a search can cost.
NEVER_OCCURRING = ["FREQ=HOURLY;BYMONTH=1;BYYEARDAY=100", "FREQ=DAILY;BYMONTH=1;BYYEARDAY=100",
                   "FREQ=HOURLY;INTERVAL=7;BYMONTH=1;BYYEARDAY=100", "FREQ=WEEKLY;BYMONTH=1;BYYEARDAY=100"]


@pytest.mark.parametrize("rule", NEVER_OCCURRING)
@pytest.mark.parametrize("year", [1970, 2399])
def test_a_rule_that_never_occurs_is_answered_within_a_bounded_time(rule, year):
    # Measured at 0.3-0.8 s on a loaded 2-core machine; the unbounded walk took 6 s to hours.
    started = time.perf_counter()
    assert next_occurrence(rule, start=utc(year, 1, 1), now=utc(year, 1, 1), zone=BERLIN) is None
    assert time.perf_counter() - started < 3


@pytest.mark.parametrize(
    "rule, start, reason",
    [
        ("FREQ=DAILY;BYMONTH=1;BYYEARDAY=100", utc(2027, 1, 1), "no occurrence in the 50 years"),
        ("FREQ=YEARLY;INTERVAL=50;BYMONTH=2;BYMONTHDAY=29", utc(2027, 2, 1), "no occurrence in the 50 years"),
        ("FREQ=DAILY;UNTIL=20270101T000000Z", utc(2027, 1, 1, 9), "UNTIL"),
        ("FREQ=HOURLY;INTERVAL=2;BYHOUR=9", utc(2027, 1, 1, 8), "never reaches these hours"),
    ],
)
def test_a_series_without_an_occurrence_after_its_start_is_refused(rule, start, reason):
    with pytest.raises(InvalidRecurrence, match=reason):
        check_series(rule, start=start, zone=UTC)


def test_a_series_with_an_occurrence_is_accepted():
    check_series("FREQ=HOURLY;INTERVAL=2;BYHOUR=9", start=utc(2027, 1, 1, 7), zone=UTC)
    check_series("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29", start=utc(2027, 3, 1), zone=UTC)


@pytest.mark.parametrize("rule", ["FREQ=SECONDLY", "FREQ=MINUTELY;BYMONTH=2;BYMONTHDAY=30",
                                  "FREQ=HOURLY;BYMONTH=2;BYMONTHDAY=30", "FREQ=DAILY;INTERVAL=5000"])
def test_a_stored_rule_outside_the_bounds_is_refused_not_walked(rule):
    started = time.perf_counter()
    with pytest.raises(InvalidRecurrence):
        next_after(rule, anchor=utc(1900, 1, 1), after=utc(2026, 11, 28), zone=UTC)
    assert time.perf_counter() - started < 0.1
