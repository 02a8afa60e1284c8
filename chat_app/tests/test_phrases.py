"""The pieces of English the offline assistant reads: dates, recurrence, reminders, priorities, tags, sorting.

How a rule reads back in words is tasks_app.recurrence's: see tasks_app/tests/test_recurrence_rules.py.
"""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from chat_app.offline import phrases

pytestmark = pytest.mark.pure  # no services: runs in the fast tier (make test ARGS='-m pure')

BERLIN = ZoneInfo("Europe/Berlin")
# A Wednesday afternoon.
NOW = datetime(2026, 11, 25, 14, 30, tzinfo=BERLIN)


def at(*parts) -> datetime:
    return datetime(*parts, tzinfo=BERLIN)


@pytest.mark.parametrize("text, expected, has_time", [
    ("tomorrow 5pm", at(2026, 11, 26, 17, 0), True),
    ("tomorrow at 5pm", at(2026, 11, 26, 17, 0), True),
    ("due tomorrow at 17:30", at(2026, 11, 26, 17, 30), True),
    ("next Friday", at(2026, 11, 27, 9, 0), False),
    ("on friday at 2pm", at(2026, 11, 27, 14, 0), True),
    ("next monday 9am", at(2026, 11, 30, 9, 0), True),
    ("in 3 days", at(2026, 11, 28, 9, 0), False),
    ("in 2 hours", at(2026, 11, 25, 16, 30), True),
    ("in an hour", at(2026, 11, 25, 15, 30), True),
    ("on 2027-01-15", at(2027, 1, 15, 9, 0), False),
    ("2027-01-15 18:45", at(2027, 1, 15, 18, 45), True),
    ("Jan 15", at(2027, 1, 15, 9, 0), False),
    ("15 January 2027 at 3pm", at(2027, 1, 15, 15, 0), True),
    ("tonight", at(2026, 11, 25, 20, 0), True),
    ("at 5pm", at(2026, 11, 25, 17, 0), True),
    ("at 10am", at(2026, 11, 26, 10, 0), True),  # already past today: tomorrow
    ("today", at(2026, 11, 25, 23, 59), False),  # nine o'clock has passed: end of the day
])
def test_dates_and_times_in_natural_language(text, expected, has_time):
    when = phrases.parse_when(text, NOW)
    assert when is not None, text
    assert when.at == expected
    assert when.has_time is has_time


@pytest.mark.parametrize("text", ["someday", "whenever", "the report"])
def test_non_dates_are_not_dates(text):
    assert phrases.parse_when(text, NOW) is None


def test_a_date_phrase_is_found_inside_a_sentence_and_cut_out():
    when, rest = phrases.take_when("add buy milk tomorrow at 5pm please", NOW)
    assert when.at == at(2026, 11, 26, 17, 0)
    assert rest == "add buy milk please"


@pytest.mark.parametrize("text, rule", [
    ("that recurs weekly", "FREQ=WEEKLY"),
    ("repeats daily", "FREQ=DAILY"),
    ("every day", "FREQ=DAILY"),
    ("every week", "FREQ=WEEKLY"),
    ("every month", "FREQ=MONTHLY"),
    ("every year", "FREQ=YEARLY"),
    ("monthly", "FREQ=MONTHLY"),
    ("every 2 weeks", "FREQ=WEEKLY;INTERVAL=2"),
    ("every three days", "FREQ=DAILY;INTERVAL=3"),
    ("every other month", "FREQ=MONTHLY;INTERVAL=2"),
    ("fortnightly", "FREQ=WEEKLY;INTERVAL=2"),
    ("every Monday", "FREQ=WEEKLY;BYDAY=MO"),
    ("every Tuesday and Thursday", "FREQ=WEEKLY;BYDAY=TU,TH"),
    ("on Mondays and Fridays", "FREQ=WEEKLY;BYDAY=MO,FR"),
    ("every weekday", "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR"),
    ("on weekends", "FREQ=WEEKLY;BYDAY=SA,SU"),
])
def test_recurrence(text, rule):
    found, rest = phrases.take_recurrence(f"gym {text}")
    assert found == rule
    assert rest == "gym"


def test_weekly_as_part_of_a_title_is_not_a_recurrence():
    assert phrases.take_recurrence("weekly report for the board") == (None, "weekly report for the board")


@pytest.mark.parametrize("text, minutes", [
    ("with a 30-minute reminder", 30),
    ("with a 30 minute reminder", 30),
    ("a 15 min reminder", 15),
    ("remind me 1 hour before", 60),
    ("remind me an hour before", 60),
    ("reminder 2 hours before", 120),
    ("with a 1-day reminder", 1440),
    ("with a half-hour reminder", 30),
    ("with a reminder", 0),
])
def test_reminders(text, minutes):
    found, rest = phrases.take_reminder(f"standup {text}")
    assert found == minutes
    assert rest == "standup"


@pytest.mark.parametrize("text, priority", [
    ("a P1 task", "P1"), ("p3", "P3"), ("priority 2", "P2"), ("urgent", "P1"), ("high priority", "P2"),
    ("low priority", "P4"), ("a low task", "P4"), ("normal priority", "P3"),
])
def test_priorities(text, priority):
    assert phrases.take_priority(f"add {text} call the bank")[0] == priority


@pytest.mark.parametrize("words, priority", [
    ("P2", "P2"), ("urgent", "P1"), ("high", "P2"), ("low", "P4"), ("priority 3", "P3"), ("to p4", "P4"),
    ("purple", None),
])
def test_priority_words(words, priority):
    assert phrases.priority_from_words(words) == priority


@pytest.mark.parametrize("text, tags, rest", [
    ("call the bank tagged work and meetings", ["work", "meetings"], "call the bank"),
    ("call the bank tagged 'work' and 'team meetings'", ["work", "team meetings"], "call the bank"),
    ("call the bank #work #Finance", ["work", "Finance"], "call the bank"),
    ("call the bank with tags work, home and errands", ["work", "home", "errands"], "call the bank"),
    ("call the bank tagged work that recurs weekly", ["work"], "call the bank that recurs weekly"),
])
def test_tags(text, tags, rest):
    assert phrases.take_tags(text) == (tags, rest)


@pytest.mark.parametrize("text, key", [
    ("sorted by due date", "due_at"), ("by priority", "priority"), ("sorted by due date descending", "-due_at"),
    ("newest first", "-created_at"), ("oldest first", "created_at"), ("alphabetically", "title"),
    ("sorted by relevance", "relevance"), ("ordered by title", "title"),
])
def test_sorting(text, key):
    assert phrases.take_sort(f"show tasks {text}")[0] == key
