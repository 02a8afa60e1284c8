import pytest

from tasks_app.recurrence import (
    SHORTHANDS,
    InvalidRecurrence,
    describe,
    normalize_rrule,
)

pytestmark = pytest.mark.pure  # no services: runs in the fast tier (make test ARGS='-m pure')


@pytest.mark.parametrize(
    "text, expected",
    [
        ("daily", "FREQ=DAILY"),
        ("Weekly", "FREQ=WEEKLY"),
        ("monthly", "FREQ=MONTHLY"),
        ("yearly", "FREQ=YEARLY"),
        ("RRULE:FREQ=WEEKLY;BYDAY=MO", "FREQ=WEEKLY;BYDAY=MO"),
        ("freq=monthly;bymonthday=-1", "FREQ=MONTHLY;BYMONTHDAY=-1"),
        ("FREQ=DAILY;UNTIL=20270131", "FREQ=DAILY;UNTIL=20270131T235959Z"),
        ("FREQ=DAILY;COUNT=3", "FREQ=DAILY;COUNT=3"),
        (None, None),
        ("", None),
        ("none", None),
    ],
)
def test_accepted_rules_are_normalized(text, expected):
    assert normalize_rrule(text) == expected


@pytest.mark.parametrize(
    "text",
    ["FREQ=WEEKLY;FOO=1", "FREQ=SOMETIMES", "BYDAY=MO", "FREQ=WEEKLY;FREQ=DAILY", "FREQ=DAILY;COUNT=x",
     "DTSTART:20270101T000000Z\nRRULE:FREQ=DAILY", "FREQ", "every other week"],
)
def test_invalid_rules_are_rejected(text):
    with pytest.raises(InvalidRecurrence):
        normalize_rrule(text)


@pytest.mark.parametrize("rule, words", [
    ("FREQ=WEEKLY", "weekly"), ("FREQ=WEEKLY;INTERVAL=2", "every 2 weeks"), ("FREQ=WEEKLY;BYDAY=MO", "every Monday"),
    ("FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR", "every weekday"), ("FREQ=MONTHLY", "monthly"),
    ("FREQ=WEEKLY;BYDAY=TU,TH", "every Tuesday and Thursday"),
])
def test_recurrence_in_words(rule, words):
    assert describe(rule) == words


@pytest.mark.parametrize("rule, words", [
    (None, ""), ("", ""), ("FREQ=DAILY", "daily"), ("FREQ=HOURLY", "hourly"), ("FREQ=YEARLY", "yearly"),
    ("FREQ=DAILY;INTERVAL=3", "every 3 days"), ("FREQ=WEEKLY;BYDAY=SA,SU", "every weekend"),
    ("FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE,FR", "every 2 weeks on Monday, Wednesday and Friday"),
    ("RRULE:FREQ=WEEKLY;BYDAY=FR", "every Friday"), ("FREQ=SECONDLY", "repeats (FREQ=SECONDLY)"),
])
def test_more_rules_in_words(rule, words):
    assert describe(rule) == words


@pytest.mark.parametrize("shorthand", sorted(SHORTHANDS))
def test_every_shorthand_is_a_valid_rule_that_reads_back_in_words(shorthand):
    rule = normalize_rrule(shorthand)
    assert rule == SHORTHANDS[shorthand]
    assert normalize_rrule(rule) == rule
    assert not describe(rule).startswith("repeats")


@pytest.mark.parametrize(
    "text, named",
    [
        ("FREQ=SECONDLY", "more often than hourly"),
        ("FREQ=MINUTELY;BYMONTH=2;BYMONTHDAY=30", "more often than hourly"),
        ("FREQ=DAILY;INTERVAL=1001", "INTERVAL"),
        ("FREQ=YEARLY;INTERVAL=51", "INTERVAL"),
        ("FREQ=DAILY;INTERVAL=0", "INTERVAL"),
        ("FREQ=DAILY;COUNT=1001", "COUNT"),
        ("FREQ=DAILY;COUNT=0", "COUNT"),
        ("FREQ=DAILY;COUNT=2;UNTIL=20270101", "COUNT and UNTIL"),
        ("FREQ=DAILY;UNTIL=tomorrow", "UNTIL"),
        ("FREQ=WEEKLY;WKST=XX", "WKST"),
        ("FREQ=YEARLY;BYYEARDAY=" + ",".join(str(day) for day in range(1, 62)), "BYYEARDAY: at most 60"),
        ("FREQ=MONTHLY;BYMONTHDAY=32", "BYMONTHDAY"),
        ("FREQ=MONTHLY;BYMONTHDAY=0", "BYMONTHDAY: 0"),
        ("FREQ=YEARLY;BYWEEKNO=54", "BYWEEKNO"),
        ("FREQ=MONTHLY;BYDAY=MO;BYSETPOS=367", "BYSETPOS"),
        ("FREQ=DAILY;BYSETPOS=2", "BYSETPOS"),
        ("FREQ=HOURLY;BYSETPOS=1", "BYSETPOS"),
        ("FREQ=DAILY;BYHOUR=24", "BYHOUR"),
        ("FREQ=DAILY;BYMINUTE=0,30", "BYMINUTE: at most one"),
        ("FREQ=MONTHLY;BYDAY=0MO", "BYDAY"),
        ("FREQ=MONTHLY;BYDAY=XX", "BYDAY"),
        # Rules that never occur, whatever the start.
        ("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30", "BYMONTHDAY=30"),
        ("FREQ=DAILY;BYMONTH=4;BYMONTHDAY=31", "BYMONTHDAY=31"),
        ("FREQ=HOURLY;BYMONTH=2,4,6,9,11;BYMONTHDAY=31", "BYMONTHDAY=31"),
    ],
)
def test_unbounded_or_impossible_rules_are_refused_naming_the_part(text, named):
    with pytest.raises(InvalidRecurrence, match=named):
        normalize_rrule(text)


@pytest.mark.parametrize(
    "text",
    ["FREQ=HOURLY;INTERVAL=1000", "FREQ=YEARLY;INTERVAL=50", "FREQ=DAILY;COUNT=1000", "FREQ=MONTHLY;BYMONTHDAY=-1",
     "FREQ=MONTHLY;BYMONTHDAY=31", "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29", "FREQ=MONTHLY;BYDAY=-1FR",
     "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1", "FREQ=DAILY;BYHOUR=9,17;BYSETPOS=2",
     "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU,SU;WKST=SU", "FREQ=YEARLY;BYWEEKNO=53;BYDAY=MO",
     "FREQ=DAILY;BYHOUR=" + ",".join(str(hour) for hour in range(24))],
)
def test_bounded_rules_at_the_limits_are_accepted(text):
    assert normalize_rrule(text) == text
