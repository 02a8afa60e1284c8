"""Each user talks to the assistant in their own time zone, and can change it by saying so."""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from tasks_app import selectors, services
from tasks_app.models import Task

from .conftest import say, tool_json

# "today" and "tomorrow" are read by the assistant and by the test: one clock, set to noon (conftest.midday).
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("midday")]

TOKYO = ZoneInfo("Asia/Tokyo")
LOS_ANGELES = ZoneInfo("America/Los_Angeles")


def only_task(user) -> Task:
    (task,) = Task.objects.filter(user=user)
    return task


def tomorrow_at_nine(zone) -> datetime:
    today = timezone.localtime(timezone.now(), zone).date()
    return datetime.combine(today + timedelta(days=1), time(9, 0), tzinfo=zone)


def test_two_users_in_different_zones_each_get_nine_oclock_tomorrow_in_their_own_zone(alice, bob):
    services.profile_update(user=alice, timezone="Asia/Tokyo")
    services.profile_update(user=bob, timezone="America/Los_Angeles")

    say(alice, "add 'Call the bank' tomorrow at 9am")
    say(bob, "add 'Call the bank' tomorrow at 9am")

    alice_due, bob_due = only_task(alice).due_at, only_task(bob).due_at
    assert alice_due == tomorrow_at_nine(TOKYO)
    assert bob_due == tomorrow_at_nine(LOS_ANGELES)
    assert timezone.localtime(alice_due, TOKYO).time() == time(9, 0)
    assert timezone.localtime(bob_due, LOS_ANGELES).time() == time(9, 0)
    # Sixteen or seventeen hours apart, not the same instant read in one server zone.
    assert alice_due != bob_due


def test_saying_where_you_are_changes_the_zone_and_keeps_due_dates(alice):
    say(alice, "add 'Dentist' tomorrow at 3pm")
    due_before = only_task(alice).due_at

    turn = say(alice, "I'm in Europe/Berlin now")

    assert [call["name"] for call in turn.tool_calls] == ["set_timezone"]
    assert selectors.profile_get(user=alice).timezone == "Europe/Berlin"
    assert "Europe/Berlin" in turn.reply and "keep their moment" in turn.reply
    assert only_task(alice).due_at == due_before


@pytest.mark.parametrize("message, zone", [
    ("set my time zone to America/New_York", "America/New_York"),
    ("change my timezone to new york", "America/New_York"),
    ("I am now in Tokyo", "Asia/Tokyo"),
    ("my time zone is utc", "UTC"),
])
def test_the_zone_can_be_said_in_several_ways(alice, message, zone):
    say(alice, message)
    assert selectors.profile_get(user=alice).timezone == zone


def test_times_after_a_zone_change_are_read_in_the_new_zone(alice):
    say(alice, "set my time zone to Asia/Tokyo")
    say(alice, "add 'Standup' tomorrow at 9am")
    assert only_task(alice).due_at == tomorrow_at_nine(TOKYO)


def test_an_unknown_zone_is_named_in_the_answer_and_nothing_changes(alice):
    services.profile_update(user=alice, timezone="Europe/Paris")
    turn = say(alice, "set my time zone to Mars/Olympus_Mons")
    assert "Mars/Olympus_Mons" in turn.reply and "don't know" in turn.reply
    assert turn.tool_calls == []
    assert selectors.profile_get(user=alice).timezone == "Europe/Paris"


def test_being_somewhere_that_is_not_a_place_is_not_a_zone_change(alice):
    turn = say(alice, "I'm in a meeting")
    assert "set_timezone" not in [call["name"] for call in turn.tool_calls]
    assert selectors.profile_get(user=alice).timezone == selectors.default_timezone_name()


def test_asking_for_the_zone_answers_with_it(alice):
    services.profile_update(user=alice, timezone="Asia/Tokyo")
    assert "Asia/Tokyo" in say(alice, "what's my time zone?").reply


def test_the_set_timezone_tool_refuses_an_unknown_zone_by_name(alice):
    from .conftest import call_tool

    result = call_tool(alice, "set_timezone", {"timezone": "Nowhere/Atlantis"})
    assert result.is_error
    assert "Nowhere/Atlantis" in result.content[0].text and "timezone" in result.content[0].text
    changed = tool_json(alice, "set_timezone", {"timezone": "Asia/Tokyo"})
    assert changed["timezone"] == "Asia/Tokyo" and "keep their moment" in changed["note"]


def test_a_reminder_without_minutes_uses_the_users_default_lead_time(alice):
    say(alice, "add 'Dentist' tomorrow at 3pm with a reminder")
    assert only_task(alice).reminder_minutes_before == 60  # the default preference

    services.profile_update(user=alice, default_reminder_minutes=15)
    say(alice, "add 'Pharmacy' tomorrow at 5pm with a reminder")
    assert Task.objects.get(user=alice, title="Pharmacy").reminder_minutes_before == 15

    services.profile_update(user=alice, default_reminder_minutes=None)  # off: at the due time
    say(alice, "add 'Bakery' tomorrow at 6pm with a reminder")
    assert Task.objects.get(user=alice, title="Bakery").reminder_minutes_before == 0


def test_mcp_tools_read_naive_times_in_the_users_zone(alice):
    services.profile_update(user=alice, timezone="Asia/Tokyo")
    created = tool_json(alice, "add_task", {"title": "Standup", "due_at": "2027-01-15T09:00:00"})
    assert datetime.fromisoformat(created["due_at"]) == datetime(2027, 1, 15, 9, 0, tzinfo=TOKYO)


WEDNESDAY_NOON = datetime(2027, 1, 13, 12, 0, tzinfo=ZoneInfo("UTC"))


@pytest.mark.parametrize("week_start, first_day", [(1, 11), (7, 10), (6, 9)])
def test_this_week_starts_on_the_users_week_start(week_start, first_day):
    from chat_app.offline.intents import parse

    this_week = parse("what's due this week?", WEDNESDAY_NOON, week_start=week_start).fields
    assert this_week["due_after"] == datetime(2027, 1, first_day, tzinfo=ZoneInfo("UTC"))
    assert this_week["due_before"] == datetime(2027, 1, first_day + 7, tzinfo=ZoneInfo("UTC"))
    next_week = parse("what's due next week?", WEDNESDAY_NOON, week_start=week_start).fields
    assert next_week["due_after"] == this_week["due_before"]


def test_the_chat_lists_this_week_from_the_users_week_start(alice):
    services.profile_update(user=alice, timezone="Asia/Tokyo", week_start="Sunday")
    turn = say(alice, "what's due this week?")
    (call,) = turn.tool_calls
    start = datetime.fromisoformat(call["arguments"]["due_after"])
    assert start.astimezone(TOKYO).isoweekday() == 7 and start.astimezone(TOKYO).time() == time(0, 0)
    assert start <= timezone.now() < datetime.fromisoformat(call["arguments"]["due_before"])
