import pytest

from tasks_app.recurrence import (
    SHORTHANDS,
    InvalidRecurrence,
    describe,
    normalize_rrule,
)


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
