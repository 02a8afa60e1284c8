"""Recurrence done right, through the REST API: repeat from completion (every!), nth-weekday, month-end
and "1st and 15th" rules, moving one occurrence without moving the series, the upcoming occurrences
and every rule explained back in words — laid out in the user's zone (Europe/Berlin here, across
daylight-saving changes)."""

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone as django_timezone

from tasks_app import services
from tasks_app.models import Task

pytestmark = pytest.mark.django_db

UTC = timezone.utc
BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture
def berliner(alice):
    services.profile_update(user=alice, timezone="Europe/Berlin")
    alice.refresh_from_db()
    return alice


def berlin(*args) -> datetime:
    return datetime(*args, tzinfo=BERLIN)


def create(api, **body) -> dict:
    response = api.post("/api/tasks", body, content_type="application/json")
    assert response.status_code == 201, response.json()
    return response.json()


def occurrences(api, task_id: int, count: int = 5) -> list[datetime]:
    response = api.get(f"/api/tasks/{task_id}/occurrences?count={count}")
    assert response.status_code == 200, response.json()
    return [datetime.fromisoformat(moment) for moment in response.json()["occurrences"]]


def complete_and_spawn(api, task_id: int) -> Task:
    assert api.post(f"/api/tasks/{task_id}/complete").status_code == 200
    # The worker's job, run here: what it calls (workers.tasks.spawn_next_occurrence).
    return services.task_spawn_next_occurrence(task_id=task_id)


@pytest.mark.parametrize(
    "rule, due, expected, words",
    [
        # Every 3rd Friday, 09:00 in Berlin on both sides of the switch to summer time (28 March 2027).
        ("FREQ=MONTHLY;BYDAY=3FR", berlin(2027, 1, 15, 9),
         [berlin(2027, 1, 15, 9), berlin(2027, 2, 19, 9), berlin(2027, 3, 19, 9), berlin(2027, 4, 16, 9)],
         "every 3rd Friday of the month"),
        # The last day of every month: February included (28th; 29th in 2028).
        ("FREQ=MONTHLY;BYMONTHDAY=-1", berlin(2028, 1, 31, 18),
         [berlin(2028, 1, 31, 18), berlin(2028, 2, 29, 18), berlin(2028, 3, 31, 18), berlin(2028, 4, 30, 18)],
         "every last day of the month"),
        ("FREQ=MONTHLY;BYMONTHDAY=1,15", berlin(2027, 3, 15, 8),
         [berlin(2027, 3, 15, 8), berlin(2027, 4, 1, 8), berlin(2027, 4, 15, 8), berlin(2027, 5, 1, 8)],
         "monthly on the 1st and 15th"),
        ("weekdays", berlin(2027, 3, 26, 9),  # Friday before the switch, then Monday after it
         [berlin(2027, 3, 26, 9), berlin(2027, 3, 29, 9), berlin(2027, 3, 30, 9), berlin(2027, 3, 31, 9)],
         "every weekday"),
        # Every 3 months from the 31st: the months without one get their last day.
        ("FREQ=MONTHLY;INTERVAL=3", berlin(2027, 8, 31, 9),
         [berlin(2027, 8, 31, 9), berlin(2027, 11, 30, 9), berlin(2028, 2, 29, 9), berlin(2028, 5, 31, 9)],
         "every 3 months"),
        ("FREQ=WEEKLY;INTERVAL=2;BYDAY=TU", berlin(2027, 3, 23, 9),
         [berlin(2027, 3, 23, 9), berlin(2027, 4, 6, 9), berlin(2027, 4, 20, 9), berlin(2027, 5, 4, 9)],
         "every 2 weeks on Tuesday"),
    ],
)
def test_rules_lay_out_in_the_users_zone_and_are_explained_in_words(berliner, alice_api, rule, due, expected, words):
    task = create(alice_api, title="Series", recurrence=rule, due_at=due.isoformat())
    assert task["recurrence_text"] == words
    assert occurrences(alice_api, task["id"], count=4) == expected
    assert alice_api.get(f"/api/tasks/{task['id']}").json()["recurrence_text"] == words


def test_occurrences_are_written_in_the_users_zone_and_keep_nine_oclock_across_the_switch(berliner, alice_api):
    task = create(alice_api, title="Standup", recurrence="weekly", due_at="2027-03-22T09:00:00")
    body = alice_api.get(f"/api/tasks/{task['id']}/occurrences?count=3").json()
    assert body["timezone"] == "Europe/Berlin" and body["recurrence_text"] == "weekly"
    assert body["occurrences"] == ["2027-03-22T09:00:00+01:00", "2027-03-29T09:00:00+02:00",
                                   "2027-04-05T09:00:00+02:00"]


def test_occurrences_stop_where_the_rule_ends_and_a_one_off_task_has_none(alice, alice_api):
    counted = create(alice_api, title="Three times", recurrence="FREQ=DAILY;COUNT=3", due_at="2027-01-01T09:00:00Z")
    assert len(occurrences(alice_api, counted["id"], count=10)) == 3
    second = complete_and_spawn(alice_api, counted["id"])
    assert len(occurrences(alice_api, second.pk, count=10)) == 2
    once = create(alice_api, title="Once", due_at="2027-01-01T09:00:00Z")
    assert occurrences(alice_api, once["id"]) == []


@pytest.mark.parametrize("count", [0, 51, -1, "many"])
def test_the_number_of_occurrences_is_bounded(alice_api, count):
    task = create(alice_api, title="Daily", recurrence="daily", due_at="2027-01-01T09:00:00Z")
    response = alice_api.get(f"/api/tasks/{task['id']}/occurrences?count={count}")
    assert response.status_code == 422
    assert response["Content-Type"].startswith("application/problem+json")


def test_another_users_series_is_not_found(alice_api, bob_api):
    task = create(alice_api, title="Mine", recurrence="daily", due_at="2027-01-01T09:00:00Z")
    assert bob_api.get(f"/api/tasks/{task['id']}/occurrences").status_code == 404


# --------------------------------------------------------------------------- every! (repeat from completion)


def test_every_bang_after_a_late_completion_counts_from_the_completion_day_at_the_due_time(berliner, alice_api):
    now = django_timezone.now()
    due = datetime.combine((now.astimezone(BERLIN) - timedelta(days=3)).date(), datetime.min.time(),
                           tzinfo=BERLIN).replace(hour=9)
    task = create(alice_api, title="Water plants", recurrence="weekly", recurrence_from_completion=True,
                  due_at=due.isoformat())
    assert task["recurrence_from_completion"] is True
    assert task["recurrence_text"] == "weekly, counted from completion"
    following = complete_and_spawn(alice_api, task["id"])
    completed_on = Task.objects.get(pk=task["id"]).completed_at.astimezone(BERLIN).date()
    expected = datetime.combine(completed_on + timedelta(days=7), datetime.min.time(), tzinfo=BERLIN).replace(hour=9)
    assert following.due_at == expected
    assert following.recurrence_from_completion is True
    # The same task on a fixed schedule: a week after its due date, whenever it was done.
    fixed = create(alice_api, title="Pay rent", recurrence="weekly", due_at=due.isoformat())
    assert complete_and_spawn(alice_api, fixed["id"]).due_at == due + timedelta(days=7)


@pytest.mark.parametrize(
    "rule, due, completed, expected",
    [
        # Due Monday 09:00, done late on Thursday evening: next Thursday at 09:00, not next Monday.
        ("FREQ=WEEKLY", berlin(2027, 1, 11, 9), berlin(2027, 1, 14, 22, 30), berlin(2027, 1, 21, 9)),
        ("FREQ=DAILY;INTERVAL=3", berlin(2027, 1, 11, 9), berlin(2027, 1, 14, 22, 30), berlin(2027, 1, 17, 9)),
        # Across the switch to summer time: still 09:00 on the wall clock.
        ("FREQ=WEEKLY", berlin(2027, 3, 22, 9), berlin(2027, 3, 25, 20), berlin(2027, 4, 1, 9)),
        # Monthly from a completion on the 31st of January: the last day of February.
        ("FREQ=MONTHLY", berlin(2027, 1, 20, 9), berlin(2027, 1, 31, 12), berlin(2027, 2, 28, 9)),
        # Done early (before the due time, the day before): counted from that day all the same.
        ("FREQ=DAILY;INTERVAL=2", berlin(2027, 1, 11, 9), berlin(2027, 1, 10, 7), berlin(2027, 1, 12, 9)),
    ],
)
def test_every_bang_next_due_date(berliner, rule, due, completed, expected):
    task = services.task_create(user=berliner, title="t", recurrence=rule, due_at=due, recurrence_from_completion=True)
    Task.objects.filter(pk=task.pk).update(completed=True, completed_at=completed)
    task.refresh_from_db()
    assert services.next_occurrence_due(task, now=completed).astimezone(BERLIN) == expected


def test_every_bang_can_be_switched_on_and_off_with_patch(alice_api):
    task = create(alice_api, title="Haircut", recurrence="monthly", due_at="2027-01-05T10:00:00Z")
    assert task["recurrence_from_completion"] is False
    patched = alice_api.patch(f"/api/tasks/{task['id']}", {"recurrence_from_completion": True},
                              content_type="application/json").json()
    assert patched["recurrence_from_completion"] is True and patched["recurrence_text"].endswith("from completion")
    bad = alice_api.patch(f"/api/tasks/{task['id']}", {"recurrence_from_completion": "sometimes"},
                          content_type="application/json")
    assert bad.status_code == 422


# --------------------------------------------------------------------------- moving one occurrence


def test_moving_one_occurrence_by_patch_keeps_the_series_rule(berliner, alice_api):
    monday = berlin(2027, 1, 11, 9)
    task = create(alice_api, title="Standup", recurrence="FREQ=WEEKLY;BYDAY=MO", due_at=monday.isoformat())
    second = complete_and_spawn(alice_api, task["id"])
    assert second.due_at == berlin(2027, 1, 18, 9)
    # This week's standup moves to Friday; the series stays on Mondays.
    moved = alice_api.patch(f"/api/tasks/{second.pk}", {"due_at": berlin(2027, 1, 22, 9).isoformat()},
                            content_type="application/json").json()
    assert moved["recurrence"] == "FREQ=WEEKLY;BYDAY=MO"
    assert occurrences(alice_api, second.pk, count=3) == [berlin(2027, 1, 22, 9), berlin(2027, 1, 25, 9),
                                                          berlin(2027, 2, 1, 9)]
    assert complete_and_spawn(alice_api, second.pk).due_at == berlin(2027, 1, 25, 9)


def test_moving_an_occurrence_earlier_does_not_repeat_it(berliner, alice_api):
    task = create(alice_api, title="Review", recurrence="FREQ=WEEKLY;BYDAY=MO", due_at=berlin(2027, 1, 11, 9).isoformat())
    second = complete_and_spawn(alice_api, task["id"])
    alice_api.patch(f"/api/tasks/{second.pk}", {"due_at": berlin(2027, 1, 15, 9).isoformat()},
                    content_type="application/json")  # the Friday before its Monday
    # The Monday it came from is not scheduled again: the next one is the Monday after.
    assert complete_and_spawn(alice_api, second.pk).due_at == berlin(2027, 1, 25, 9)


def test_sending_the_rule_with_a_new_date_moves_the_whole_series(berliner, alice_api):
    task = create(alice_api, title="Gym", recurrence="weekly", due_at=berlin(2027, 1, 11, 18).isoformat())
    alice_api.patch(f"/api/tasks/{task['id']}", {"due_at": berlin(2027, 1, 13, 18).isoformat(),
                                                 "recurrence": "weekly"}, content_type="application/json")
    assert occurrences(alice_api, task["id"], count=2) == [berlin(2027, 1, 13, 18), berlin(2027, 1, 20, 18)]
