"""One meaning per rule: a tag, a priority or a naive time reads the same when writing and when filtering."""

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError

from tasks_app import cleaning

pytestmark = pytest.mark.pure  # no services: runs in the fast tier (make test ARGS='-m pure')

BERLIN = ZoneInfo("Europe/Berlin")


def test_a_tag_is_named_the_same_when_tagging_and_when_filtering():
    written = ["  #Work ", "work", "#home", "HOME"]
    assert cleaning.clean_tag_names(written) == ["Work", "home"]
    assert cleaning.distinct_tag_names(cleaning.clean_tag_filter(written)) == ["Work", "home"]


@pytest.mark.parametrize("cleaner, field", [(cleaning.clean_tag_names, "tags"), (cleaning.clean_tag_filter, "tag")])
def test_an_empty_tag_name_is_refused_naming_the_callers_field(cleaner, field):
    with pytest.raises(ValidationError) as raised:
        cleaner([" # "])
    assert raised.value.message_dict == {field: ["a tag name must not be empty"]}


def test_priorities_are_cleaned_alike_one_or_many():
    assert cleaning.clean_priority(" p2 ") == "P2"
    assert cleaning.clean_priorities(["p1", "P4"]) == ["P1", "P4"]
    assert cleaning.clean_priorities("p3") == ["P3"]
    for bad in ("P9", 1, None):
        with pytest.raises(ValidationError) as raised:
            cleaning.clean_priority(bad)
        assert raised.value.message_dict == {"priority": [f"{bad!r} is not one of P1, P2, P3, P4"]}


def test_a_naive_time_is_read_in_the_zone_given_and_a_date_only_where_allowed():
    assert cleaning.clean_datetime("due_at", datetime(2027, 1, 1, 9, 0), BERLIN) == \
        datetime(2027, 1, 1, 9, 0, tzinfo=BERLIN)
    aware = datetime(2027, 1, 1, 9, 0, tzinfo=UTC)
    assert cleaning.clean_datetime("due_at", aware, BERLIN) is aware
    assert cleaning.clean_datetime("due_after", date(2027, 1, 1), BERLIN, dates=True) == \
        datetime(2027, 1, 1, tzinfo=BERLIN)
    with pytest.raises(ValidationError) as raised:
        cleaning.clean_datetime("due_at", date(2027, 1, 1), BERLIN)
    assert raised.value.message_dict == {"due_at": ["must be an ISO 8601 date-time"]}


@pytest.mark.parametrize("value", [True, -1, 40321, "5", 2.0])
def test_reminder_minutes_are_a_whole_number_in_range(value):
    with pytest.raises(ValidationError) as raised:
        cleaning.clean_reminder(value)
    assert raised.value.message_dict == {
        "reminder_minutes_before": ["must be a whole number of minutes from 0 to 40320"]}
