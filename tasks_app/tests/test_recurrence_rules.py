import pytest

from tasks_app.recurrence import InvalidRecurrence, normalize_rrule


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
