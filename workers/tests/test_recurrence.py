"""Completing a recurring task creates its next occurrence — computed right, and only once."""

import threading
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from django.db import connection

from tasks_app import services
from tasks_app.models import Task

UTC = timezone.utc
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def completed(alice, *, recurrence, due_at=None, completed_at=NOW):
    task = Task(user=alice, title="t", recurrence=recurrence, due_at=due_at, completed=True,
                completed_at=completed_at)
    return task


@pytest.mark.django_db
@pytest.mark.parametrize(
    "rule, due_at, expected",
    [
        ("FREQ=WEEKLY", datetime(2027, 1, 11, 9, 0, tzinfo=UTC), datetime(2027, 1, 18, 9, 0, tzinfo=UTC)),
        ("FREQ=DAILY", datetime(2026, 11, 26, 18, 0, tzinfo=UTC), datetime(2026, 11, 27, 18, 0, tzinfo=UTC)),
        # Occurrences already in the past are skipped: the next one after now, on the rule's grid.
        ("FREQ=WEEKLY", datetime(2026, 10, 1, 9, 0, tzinfo=UTC), datetime(2026, 12, 3, 9, 0, tzinfo=UTC)),
        # Month-end: a series on the 31st falls on the last day of February (Mar 31 skipped it: issue 11).
        ("FREQ=MONTHLY", datetime(2027, 1, 31, 9, 0, tzinfo=UTC), datetime(2027, 2, 28, 9, 0, tzinfo=UTC)),
        ("FREQ=WEEKLY;BYDAY=MO,WE,FR", datetime(2027, 1, 11, 9, 0, tzinfo=UTC), datetime(2027, 1, 13, 9, 0, tzinfo=UTC)),
        ("FREQ=WEEKLY;INTERVAL=2", datetime(2027, 1, 11, 9, 0, tzinfo=UTC), datetime(2027, 1, 25, 9, 0, tzinfo=UTC)),
        ("FREQ=DAILY;UNTIL=20270111T235959Z", datetime(2027, 1, 11, 9, 0, tzinfo=UTC), None),
    ],
)
def test_next_due_date_follows_the_rule_from_the_previous_due_date(alice, rule, due_at, expected):
    assert services.next_occurrence_due(completed(alice, recurrence=rule, due_at=due_at), now=NOW) == expected


@pytest.mark.django_db
def test_without_a_due_date_the_next_is_counted_from_completion(alice):
    task = completed(alice, recurrence="FREQ=DAILY", completed_at=NOW - timedelta(hours=1))
    assert services.next_occurrence_due(task, now=NOW) == NOW + timedelta(hours=23)


@pytest.mark.django_db
def test_a_nine_oclock_meeting_stays_at_nine_across_daylight_saving(alice, settings):
    settings.TIME_ZONE = "Europe/Berlin"
    berlin = ZoneInfo("Europe/Berlin")
    before_switch = datetime(2027, 3, 22, 9, 0, tzinfo=berlin)  # CET, UTC+1; clocks go forward on 28 March
    task = completed(alice, recurrence="FREQ=WEEKLY", due_at=before_switch.astimezone(UTC))
    following = services.next_occurrence_due(task, now=datetime(2027, 3, 1, tzinfo=UTC))
    assert following.astimezone(berlin) == datetime(2027, 3, 29, 9, 0, tzinfo=berlin)
    assert following - before_switch == timedelta(days=7, hours=-1)


@pytest.mark.django_db
def test_spawning_copies_the_task_and_links_it(alice):
    task = services.task_create(user=alice, title="Standup", description="Daily sync", priority="P1",
                                tags=["work", "meetings"], due_at=datetime(2027, 1, 11, 9, 0, tzinfo=UTC),
                                recurrence="weekly", reminder_minutes_before=30)
    services.task_complete(task=task)
    following = services.task_spawn_next_occurrence(task_id=task.pk)
    assert (following.title, following.description, following.priority, following.recurrence,
            following.reminder_minutes_before) == ("Standup", "Daily sync", "P1", "FREQ=WEEKLY", 30)
    assert sorted(following.tags.values_list("name", flat=True)) == ["meetings", "work"]
    assert following.due_at == datetime(2027, 1, 18, 9, 0, tzinfo=UTC)
    assert following.previous_occurrence_id == task.pk
    assert not following.completed and following.reminder_sent_at is None


@pytest.mark.django_db
def test_repeated_jobs_reopen_and_recomplete_spawn_only_one(alice):
    task = services.task_create(user=alice, title="Water plants", recurrence="daily",
                                due_at=datetime(2027, 1, 1, 8, 0, tzinfo=UTC))
    services.task_complete(task=task)
    first = services.task_spawn_next_occurrence(task_id=task.pk)
    assert services.task_spawn_next_occurrence(task_id=task.pk) == first
    services.task_reopen(task=task)
    assert services.task_spawn_next_occurrence(task_id=task.pk) is None, "an open task spawns nothing"
    services.task_complete(task=task)
    assert services.task_spawn_next_occurrence(task_id=task.pk) == first
    assert Task.objects.filter(title="Water plants").count() == 2


@pytest.mark.django_db
def test_one_off_tasks_spawn_nothing(alice):
    task = services.task_create(user=alice, title="Once")
    services.task_complete(task=task)
    assert services.task_spawn_next_occurrence(task_id=task.pk) is None
    assert services.task_spawn_next_occurrence(task_id=999_999_999) is None


@pytest.mark.django_db(transaction=True)
def test_concurrent_jobs_create_exactly_one_next_occurrence(alice):
    task = services.task_create(user=alice, title="Race", recurrence="weekly",
                                due_at=datetime(2027, 1, 4, 9, 0, tzinfo=UTC))
    services.task_complete(task=task)
    barrier = threading.Barrier(6)
    results, errors = [], []

    def job():
        try:
            barrier.wait()
            results.append(services.task_spawn_next_occurrence(task_id=task.pk))
        except Exception as exc:  # collected and asserted below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=job) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert len({spawned.pk for spawned in results}) == 1
    assert Task.objects.filter(previous_occurrence=task).count() == 1


@pytest.mark.django_db
def test_the_database_refuses_a_second_next_occurrence(alice):
    from django.db import IntegrityError

    task = services.task_create(user=alice, title="Unique", recurrence="daily")
    services.task_complete(task=task)
    services.task_spawn_next_occurrence(task_id=task.pk)
    with pytest.raises(IntegrityError):
        Task.objects.create(user=alice, title="Sneaky copy", previous_occurrence=task)


# --------------------------------------------------------------------------- series state (issue 11)

from django.utils import timezone as django_timezone  # noqa: E402

from tasks_app import selectors  # noqa: E402
from tasks_app.models import RecurrenceState  # noqa: E402


def complete_and_spawn(task):
    services.task_complete(task=task)
    return services.task_spawn_next_occurrence(task_id=task.pk)


def awaiting():
    now = django_timezone.now()
    return selectors.recurring_tasks_awaiting_next(settled_before=now + timedelta(minutes=1),
                                                   since=now - timedelta(days=1), limit=100)


@pytest.mark.django_db
def test_count_counts_the_occurrences_of_the_series(alice):
    first = services.task_create(user=alice, title="Twice", recurrence="FREQ=DAILY;COUNT=2",
                                 due_at=datetime(2027, 1, 11, 9, tzinfo=UTC))
    second = complete_and_spawn(first)
    assert (second.due_at, second.series_position, second.series_start) == (
        datetime(2027, 1, 12, 9, tzinfo=UTC), 2, first.due_at)
    assert complete_and_spawn(second) is None
    second.refresh_from_db()
    assert second.recurrence_state == RecurrenceState.ENDED
    assert Task.objects.filter(title="Twice").count() == 2


@pytest.mark.django_db
def test_a_monthly_series_from_the_31st_clamps_and_comes_back(alice):
    task = services.task_create(user=alice, title="Rent", recurrence="monthly",
                                due_at=datetime(2027, 1, 31, 9, tzinfo=UTC))
    dues = []
    for _ in range(3):
        task = complete_and_spawn(task)
        dues.append(task.due_at)
    assert dues == [datetime(2027, 2, 28, 9, tzinfo=UTC), datetime(2027, 3, 31, 9, tzinfo=UTC),
                    datetime(2027, 4, 30, 9, tzinfo=UTC)]


@pytest.mark.django_db
def test_a_deleted_next_occurrence_is_not_looked_for_again(alice):
    task = services.task_create(user=alice, title="Gym", recurrence="weekly",
                                due_at=datetime(2027, 1, 11, 9, tzinfo=UTC))
    following = complete_and_spawn(task)
    services.task_delete(task=following)
    assert task.pk not in awaiting()
    assert services.task_spawn_next_occurrence(task_id=task.pk) is None
    assert not Task.objects.filter(previous_occurrence=task).exists()


@pytest.mark.django_db
def test_only_pending_series_are_swept(alice):
    pending = services.task_create(user=alice, title="Lost job", recurrence="daily",
                                   due_at=datetime(2027, 1, 11, 9, tzinfo=UTC))
    services.task_complete(task=pending)  # its job "lost": nothing spawned yet
    ended = services.task_create(user=alice, title="Last", recurrence="FREQ=DAILY;COUNT=1",
                                 due_at=datetime(2027, 1, 11, 9, tzinfo=UTC))
    assert complete_and_spawn(ended) is None
    assert awaiting() == [pending.pk]
    later = django_timezone.now() + timedelta(minutes=1)  # a window that starts after the completion
    assert selectors.recurring_tasks_awaiting_next(settled_before=later, since=later, limit=10) == []


@pytest.mark.django_db
def test_a_stored_rule_beyond_todays_bounds_ends_its_series_quickly(alice):
    # Rows written before the bounds existed, as they are in the database.
    legacy = [Task.objects.create(user=alice, title=rule, recurrence=rule, due_at=datetime(1900, 1, 1, tzinfo=UTC),
                                  completed=True, completed_at=NOW, recurrence_state=RecurrenceState.PENDING)
              for rule in ("FREQ=SECONDLY", "FREQ=MINUTELY;BYMONTH=2;BYMONTHDAY=30",
                           "FREQ=HOURLY;BYMONTH=2;BYMONTHDAY=30")]
    for task in legacy:
        assert services.task_spawn_next_occurrence(task_id=task.pk) is None
        task.refresh_from_db()
        assert task.recurrence_state == RecurrenceState.ENDED


@pytest.mark.django_db
def test_moving_an_occurrence_keeps_the_series_and_a_rule_sent_with_it_restarts_it(alice):
    task = services.task_create(user=alice, title="Review", recurrence="FREQ=WEEKLY;COUNT=4",
                                due_at=datetime(2027, 1, 11, 9, tzinfo=UTC))
    second = complete_and_spawn(task)
    moved = services.task_update(task=second, due_at=datetime(2027, 1, 19, 9, tzinfo=UTC))
    # This occurrence moved to Tuesday; the series stays on Mondays (docs/events.md, "Recurrence").
    assert (moved.series_start, moved.rule_due_at, moved.series_position) == (
        datetime(2027, 1, 11, 9, tzinfo=UTC), datetime(2027, 1, 18, 9, tzinfo=UTC), 2)
    third = complete_and_spawn(moved)
    assert third.due_at == datetime(2027, 1, 25, 9, tzinfo=UTC)
    # Sending the rule along moves the whole series: it goes on from the new date, keeping its count.
    whole = services.task_update(task=third, due_at=datetime(2027, 1, 27, 9, tzinfo=UTC), recurrence="FREQ=WEEKLY;COUNT=4")
    assert (whole.series_start, whole.series_position) == (datetime(2027, 1, 27, 9, tzinfo=UTC), 3)
    assert complete_and_spawn(whole).due_at == datetime(2027, 2, 3, 9, tzinfo=UTC)
    renewed = services.task_update(task=whole, recurrence="daily")
    assert renewed.series_position == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    "body, field, says",
    [
        ({"due_at": "2027-01-31T09:00:00Z", "recurrence": "FREQ=SECONDLY"}, "recurrence", "more often than hourly"),
        ({"due_at": "2027-01-31T09:00:00Z", "recurrence": "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30"}, "recurrence",
         "never occurs"),
        ({"due_at": "2027-01-31T09:00:00Z", "recurrence": "FREQ=DAILY;BYMONTH=4;BYMONTHDAY=31"}, "recurrence",
         "never occurs"),
        ({"due_at": "2027-01-31T09:00:00Z", "recurrence": "FREQ=DAILY;UNTIL=20270101"}, "recurrence", "UNTIL"),
        ({"due_at": "2027-01-31T08:00:00Z", "recurrence": "FREQ=HOURLY;INTERVAL=2;BYHOUR=9"}, "recurrence",
         "never reaches"),
        ({"due_at": "2027-01-31T09:00:00Z", "recurrence": "FREQ=DAILY;INTERVAL=5000"}, "recurrence", "INTERVAL"),
        ({"due_at": "1900-01-01T00:00:00Z", "recurrence": "FREQ=HOURLY"}, "due_at", "between 1970-01-01"),
        ({"due_at": "3000-01-01T00:00:00Z"}, "due_at", "and 2999-12-31"),
    ],
)
def test_rules_and_due_dates_out_of_bounds_are_a_422_naming_the_field(alice_api, body, field, says):
    import json

    created = alice_api.post("/api/tasks", json.dumps({"title": "x", **body}), content_type="application/json")
    assert created.status_code == 422, created.content
    messages = [error["message"] for error in created.json()["errors"] if error["field"] == field]
    assert messages and says in messages[0], created.json()
    task = alice_api.post("/api/tasks", json.dumps({"title": "y"}), content_type="application/json").json()
    changed = alice_api.patch(f"/api/tasks/{task['id']}", json.dumps(body), content_type="application/json")
    assert changed.status_code == 422 and field in str(changed.json()), changed.content
