"""Recurrence done right, what's next and saved lists — through the chat: the offline assistant (its
words reach the MCP tools as the right user) and the agent driven by the SDK's scripted model."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from agents.testing import ScriptedModel, assistant_message, function_call
from django.utils import timezone

from chat_app.offline.intents import parse
from chat_app.services import chat_send
from tasks_app import services
from tasks_app.models import SavedFilter, Task

from .conftest import Conversation

pytestmark = pytest.mark.django_db

BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture
def berliner(alice):
    services.profile_update(user=alice, timezone="Europe/Berlin")
    alice.refresh_from_db()
    return alice


def calls(turn, name: str) -> list[dict]:
    return [call for call in turn.tool_calls if call["name"] == name]


@pytest.mark.parametrize(
    "message, rule, words",
    [
        ("add team lunch every 3rd Friday at 12:30", "FREQ=MONTHLY;BYDAY=3FR", "every 3rd Friday of the month"),
        ("add pay rent every last day of the month", "FREQ=MONTHLY;BYMONTHDAY=-1", "every last day of the month"),
        ("add send invoices on the 1st and 15th", "FREQ=MONTHLY;BYMONTHDAY=1,15", "monthly on the 1st and 15th"),
        ("add standup every weekday at 9:30", "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR", "every weekday"),
        ("add dentist check-up every 3 months", "FREQ=MONTHLY;INTERVAL=3", "every 3 months"),
        ("add 1:1 with Sam every 2 weeks on Tuesday", "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU", "every 2 weeks on Tuesday"),
        ("add water plants every! 3 days", "FREQ=DAILY;INTERVAL=3", "every 3 days, counted from completion"),
    ],
)
def test_rules_said_in_words_are_stored_as_rrules_and_explained_back(berliner, alice_chat, message, rule, words):
    turn = alice_chat(message)
    (added,) = calls(turn, "add_task")
    assert added["arguments"]["recurrence"] == rule
    task = Task.objects.get(pk=added["result"]["id"], user=berliner)
    assert task.recurrence == rule and task.recurrence_text == words
    assert words in turn.reply
    if "every!" in message:
        assert task.recurrence_from_completion and added["arguments"]["recurrence_from_completion"] is True
    if "3rd Friday" in message:  # due on the first 3rd Friday, at the time said
        local = task.due_at.astimezone(BERLIN)
        assert (local.weekday(), 15 <= local.day <= 21, local.hour, local.minute) == (4, True, 12, 30)


def test_when_is_standup_next_lists_the_upcoming_occurrences_in_the_users_zone(berliner, alice_chat, bob):
    services.task_create(user=bob, title="Standup", recurrence="daily", due_at=timezone.now() + timedelta(hours=1))
    thursday = datetime(2027, 3, 25, 9, 0, tzinfo=BERLIN)  # summer time starts on Sunday the 28th
    task = services.task_create(user=berliner, title="Standup", recurrence="weekdays", due_at=thursday)
    turn = alice_chat("when is standup next?")
    (listed,) = calls(turn, "list_occurrences")
    assert listed["arguments"] == {"task_id": task.pk, "count": 5}
    assert turn.reply == ("“Standup” repeats every weekday. Next: Thu 25 Mar 2027, 09:00; Fri 26 Mar 2027, 09:00; "
                          "Mon 29 Mar 2027, 09:00; Tue 30 Mar 2027, 09:00; Wed 31 Mar 2027, 09:00.")


def test_moving_this_weeks_standup_moves_only_that_occurrence(berliner, alice_chat):
    first = services.task_create(user=berliner, title="Standup", recurrence="FREQ=WEEKLY;BYDAY=MO",
                                 due_at=datetime(2027, 1, 11, 9, 0, tzinfo=BERLIN))
    services.task_complete(task=first)
    this_week = services.task_spawn_next_occurrence(task_id=first.pk)  # Monday 18 January
    turn = alice_chat("move this week's standup to 2027-01-22 09:00")
    (update,) = calls(turn, "update_task")
    assert update["arguments"]["task_id"] == this_week.pk and "recurrence" not in update["arguments"]
    this_week.refresh_from_db()
    assert this_week.due_at == datetime(2027, 1, 22, 9, 0, tzinfo=BERLIN)
    assert this_week.recurrence == "FREQ=WEEKLY;BYDAY=MO"
    services.task_complete(task=this_week)
    # The series keeps its Mondays.
    assert services.task_spawn_next_occurrence(task_id=this_week.pk).due_at == datetime(2027, 1, 25, 9, 0,
                                                                                          tzinfo=BERLIN)


def test_move_this_weeks_standup_to_friday_keeps_its_time_of_day(berliner, alice_chat):
    today = timezone.localtime(timezone=BERLIN).date()
    monday = today - timedelta(days=today.weekday())
    first = services.task_create(user=berliner, title="Standup", recurrence="FREQ=WEEKLY;BYDAY=MO",
                                 due_at=datetime.combine(monday, datetime.min.time(), tzinfo=BERLIN).replace(
                                     hour=9, minute=30) + timedelta(days=7))
    turn = alice_chat("move this week's standup to Friday")
    (update,) = calls(turn, "update_task")
    first.refresh_from_db()
    local = first.due_at.astimezone(BERLIN)
    assert (local.weekday(), local.hour, local.minute) == (4, 9, 30)
    assert first.recurrence == "FREQ=WEEKLY;BYDAY=MO" and "recurrence" not in update["arguments"]


@pytest.mark.parametrize("message", ["what should I do next?", "plan my day", "What's next", "what should I work on now"])
def test_what_should_i_do_next_ranks_with_reasons(berliner, alice_chat, bob, message):
    now = timezone.now()
    services.task_create(user=berliner, title="Someday", priority="P4")
    services.task_create(user=berliner, title="File taxes", priority="P1", due_at=now - timedelta(days=2, hours=2))
    services.task_create(user=berliner, title="Call plumber", priority="P2")
    services.task_create(user=bob, title="Bob's overdue", priority="P1", due_at=now - timedelta(days=9))
    turn = alice_chat(message)
    assert [call["name"] for call in turn.tool_calls] == ["plan_today"]
    lines = turn.reply.splitlines()
    assert lines[0] == "Here's what I'd do next:"
    assert lines[1].startswith("1. “File taxes”") and lines[1].endswith("— overdue by 2 days · P1")
    assert lines[2].startswith("2. “Call plumber”") and "P2 · no due date" in lines[2]
    assert "Bob" not in turn.reply and "Someday" not in turn.reply


def test_save_this_as_keeps_the_last_list_and_this_week_stays_relative(berliner, alice_chat, bob):
    now = timezone.now()
    services.task_create(user=berliner, title="Quarterly report", tags=["work"], due_at=now + timedelta(minutes=10))
    services.task_create(user=berliner, title="Gym", tags=["home"], due_at=now + timedelta(minutes=10))
    listed = alice_chat("show my tasks tagged work due this week")
    assert [item["title"] for item in calls(listed, "list_tasks")[0]["result"]["items"]] == ["Quarterly report"]

    turn = alice_chat("save this as 'this week at work'")
    (saved,) = calls(turn, "save_filter")
    assert saved["arguments"]["params"] == {"tag": ["work"], "completed": False, "due_window": "this_week",
                                            "sort": "due_at"}
    assert SavedFilter.objects.get(user=berliner).name == "this week at work"
    assert turn.reply.startswith("Saved “this week at work”")

    shown = alice_chat("show my 'this week at work' list")
    (call,) = calls(shown, "show_saved_filter")
    assert [item["title"] for item in call["result"]["items"]] == ["Quarterly report"]
    assert "Quarterly report" in shown.reply and "Gym" not in shown.reply
    assert "“this week at work”" in alice_chat("show my saved lists").reply

    # Bob has no such list, and cannot reach Alice's.
    bobs = Conversation(bob)("show my 'this week at work' list")
    assert "no saved list called “this week at work”" in bobs.reply and "Quarterly" not in bobs.reply


def test_save_this_without_a_list_says_what_to_do(alice_chat):
    turn = alice_chat("save this as 'nothing'")
    assert turn.tool_calls == [] and "no list to save yet" in turn.reply
    assert not SavedFilter.objects.exists()


def test_the_agent_reaches_the_planning_tools_as_the_user(alice, bob):
    series = services.task_create(user=alice, title="Standup", recurrence="FREQ=MONTHLY;BYDAY=3FR",
                                  due_at=datetime(2027, 1, 15, 9, 0, tzinfo=BERLIN))
    bobs = services.task_create(user=bob, title="Bob's", recurrence="daily", due_at=timezone.now())
    model = ScriptedModel([
        [function_call("list_occurrences", {"task_id": series.pk, "count": 3}, call_id="c1"),
         function_call("list_occurrences", {"task_id": bobs.pk}, call_id="c2"),
         function_call("save_filter", {"name": "Recurring", "params": {"recurring": True}}, call_id="c3"),
         function_call("plan_today", {}, call_id="c4")],
        [assistant_message("Standup is on the 3rd Friday.")],
    ])
    turn = chat_send(user=alice, message="when is standup next? and save my recurring list", model=model)
    occurrences, not_mine, saved, plan = turn.tool_calls
    assert occurrences["result"]["recurrence_text"] == "every 3rd Friday of the month"
    assert len(occurrences["result"]["occurrences"]) == 3
    assert not_mine["result"] == {"error": "task not found"}
    assert SavedFilter.objects.get(name="Recurring").user == alice
    assert plan["result"]["items"] == [] or all(item["task"]["title"] != "Bob's" for item in plan["result"]["items"])
    model.assert_complete()


@pytest.mark.parametrize(
    "message, kind, fields",
    [
        ("whats next", "plan", {}),
        ("what should i do today?", "plan", {}),
        ("when's the standup next?", "occurrences", {"count": 5}),
        ("show the next 3 dates of standup", "occurrences", {"count": 3}),
        ("when does rent repeat", "occurrences", {"count": 5}),
        ("save this list as work this week", "save_filter", {"name": "work this week"}),
        ("show my saved lists", "saved_filters", {}),
        ("open my 'errands' list", "saved_filter", {"name": "errands"}),
        ("show my saved list errands", "saved_filter", {"name": "errands"}),
    ],
)
def test_planning_sentences_are_read_as_such(message, kind, fields):
    intent = parse(message, timezone.localtime())
    assert (intent.kind, intent.fields) == (kind, fields)


@pytest.mark.parametrize("message", ["what's due next week?", "show my travel tasks", "what's due tomorrow"])
def test_lists_are_not_mistaken_for_planning(message):
    assert parse(message, timezone.localtime()).kind == "find"
