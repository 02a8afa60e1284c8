"""read_task_description: one line read with the assistant's grammar, each part with its span.
Pure (no database): "now" is given."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from chat_app.offline import intents, phrases
from tasks_app import recurrence

pytestmark = pytest.mark.pure  # no services: runs in the fast tier (make test ARGS='-m pure')

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 12, 4, 10, 0, tzinfo=BERLIN)  # a Friday


def read(text):
    return intents.read_task_description(text, NOW)


def spans(reading, text):
    return [(part.kind, text[part.start:part.end]) for part in reading.parts]


def test_the_issues_example_reads_whole():
    text = "Pay rent every month on the 1st #home p2 remind me 1 day before"
    reading = read(text)
    assert reading.problem == ""
    assert reading.fields == {
        "title": "Pay rent", "priority": "P2", "tags": ["home"], "recurrence": "FREQ=MONTHLY;BYMONTHDAY=1",
        "due_at": datetime(2027, 1, 1, 9, 0, tzinfo=BERLIN), "reminder_minutes_before": 1440}
    assert spans(reading, text) == [("title", "Pay rent"), ("recurrence", "every month on the 1st"),
                                     ("tag", "#home"), ("priority", "p2"), ("reminder", "remind me 1 day before")]
    assert recurrence.describe(reading.fields["recurrence"]) == "monthly on the 1st"


@pytest.mark.parametrize("words, day", [("every month on the 15th", 15), ("monthly on the 2nd", 2),
                                        ("on the 3rd of every month", 3), ("every 31st of the month", 31)])
def test_a_day_of_the_month(words, day):
    reading = read(f"Water bill {words}")
    assert reading.fields["recurrence"] == f"FREQ=MONTHLY;BYMONTHDAY={day}"
    assert reading.fields["due_at"].day == day and reading.fields["title"] == "Water bill"


def test_a_day_past_31_is_not_a_day_of_the_month():
    assert read("Odd thing monthly on the 32nd").fields.get("recurrence") != "FREQ=MONTHLY;BYMONTHDAY=32"


def test_a_weekly_task_with_a_time_is_due_on_its_first_day_not_today():
    reading = read("Call mom every Sunday at 6pm")
    assert reading.fields["due_at"] == datetime(2026, 12, 6, 18, 0, tzinfo=BERLIN)


def test_parts_are_in_typed_order_and_spans_index_the_text_as_sent():
    text = "  Dentist\u00a0 tomorrow   #health\t5pm  urgent!!"
    reading = read(text)
    assert spans(reading, text) == [("title", "Dentist"), ("due", "tomorrow"), ("tag", "#health"), ("due", "5pm"),
                                    ("priority", "urgent")]
    assert all(text[part.start:part.end] == part.text for part in reading.parts)


def test_spans_count_code_points_past_emoji():
    text = "🎉 Party 🎈 next Friday #fun"
    reading = read(text)
    assert spans(reading, text)[-2:] == [("due", "next Friday"), ("tag", "#fun")]


def test_a_quoted_title_keeps_words_the_grammar_would_read():
    text = "'Review the weekly report' tomorrow p1"
    reading = read(text)
    assert reading.fields["title"] == "Review the weekly report"
    assert "recurrence" not in reading.fields
    assert spans(reading, text)[0] == ("title", "Review the weekly report")


@pytest.mark.parametrize("text", ["", "   ", "#home p1 tomorrow", "urgent", "every day"])
def test_no_title_is_a_problem_not_a_task(text):
    reading = read(text)
    assert reading.problem and reading.fields == {}


SENTENCES = [
    "add buy milk tomorrow at 5pm #shopping",
    "add 'Weekly review' every Friday at 4pm with a 30 minute reminder",
    "remind me to call the bank next Monday urgent",
    "add report tagged work, finance and 'q4 plans' due 2027-01-15 high priority",
    "add standup every weekday at 9:30, remind me 10 minutes before",
    "add   pay  rent   monthly on the 1st  #home ,  p2.",
]


@pytest.mark.parametrize("sentence", SENTENCES)
def test_peeling_a_traced_text_gives_the_same_text_as_peeling_a_plain_one(sentence):
    """The chat peels plain strings, quick add traced ones: one grammar, the same result."""
    plain, traced = phrases.normalize(sentence), phrases.normalize(phrases.Traced(sentence))
    assert str(traced) == plain
    for take in (phrases.take_recurrence, phrases.take_reminder, phrases.take_tags, phrases.take_priority,
                 lambda text: phrases.take_when(text, NOW)):
        (plain_value, plain), (traced_value, traced) = take(plain), take(traced)
        assert (traced_value, str(traced)) == (plain_value, plain)
        assert isinstance(traced, phrases.Traced) and len(traced.origin) == len(traced)
        assert all(index is None or sentence[index] == " " or sentence[index].lower() == char.lower()
                   or not char.strip() for char, index in zip(traced, traced.origin)), "origin points at its char"


@pytest.mark.parametrize("sentence", SENTENCES)
def test_the_chat_reads_add_sentences_as_quick_add_reads_their_rest(sentence):
    chat = intents.parse(sentence, NOW)
    assert chat.kind == "add"
    assert chat.fields["title"]
