"""The secret calendar feed: parsed back with icalendar, its series expanded with recurring-ical-events
agree with the occurrences the app itself creates, and the URL is the only way in."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import icalendar
import pytest
import recurring_ical_events
from django.test import Client

from tasks_app import services
from tasks_app.calendar_feed import services as feed_services
from tasks_app.models import Task

pytestmark = pytest.mark.django_db

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")


def feed_path(user) -> str:
    feed = feed_services.calendar_feed_get(user=user) or feed_services.calendar_feed_rotate(user=user)
    return f"/calendar/{feed_services.calendar_feed_token(feed)}.ics"


def read_feed(user, *, kind: str = "todo") -> icalendar.Calendar:
    response = Client().get(feed_path(user), {"kind": kind} if kind != "todo" else {})
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/calendar")
    return icalendar.Calendar.from_ical(response.content)


def components(calendar: icalendar.Calendar, name: str = "VTODO") -> dict[str, icalendar.Component]:
    return {str(component["UID"]): component for component in calendar.walk(name)}


def uid(task: Task) -> str:
    return f"task-{task.pk}@todo-ai-chatbot"


def app_occurrences(first: Task, count: int) -> list[datetime]:
    """The due dates of the series' first `count` occurrences as the app makes them: each one
    completed through the service and its next occurrence spawned, as the worker does."""
    series = [first]
    while len(series) < count:
        services.task_complete(task=series[-1])
        following = services.task_spawn_next_occurrence(task_id=series[-1].pk)
        assert following is not None
        series.append(following)
    return [task.due_at for task in series]


def feed_occurrences(calendar: icalendar.Calendar, task_uid: str, *, after: datetime, count: int,
                     kind: str = "VTODO") -> list[datetime]:
    """The first `count` moments (DUE of a to-do, start of an event) recurring-ical-events expands
    for the component `task_uid`, from `after` on, in UTC."""
    found = []
    query = recurring_ical_events.of(calendar, components=[kind])
    for occurrence in query.after(after - timedelta(seconds=1)):
        if str(occurrence["UID"]) != task_uid:
            continue
        moment = occurrence["DUE"].dt if kind == "VTODO" else occurrence["DTSTART"].dt
        found.append(moment.astimezone(UTC))
        if len(found) == count:
            break
    return found


@pytest.mark.parametrize("kind", ["VTODO", "VEVENT"])
@pytest.mark.parametrize("zone, due, rule", [
    # Weekly at 09:00 in Berlin across the spring switch (last Sunday of March 2030 is the 31st).
    ("Europe/Berlin", datetime(2030, 3, 18, 9, 0), "FREQ=WEEKLY"),
    # Monthly on the 31st: the app falls on the last day of shorter months (Feb 28, Apr 30), where a
    # plain RFC 5545 MONTHLY from DTSTART would skip them; the feed's rule must say the same.
    ("America/New_York", datetime(2030, 1, 31, 18, 30), "FREQ=MONTHLY"),
    # Every other week on two days, limited by COUNT.
    ("Europe/Berlin", datetime(2030, 10, 21, 7, 15), "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,TH;COUNT=5"),
])
def test_the_feeds_series_expand_to_the_occurrences_the_app_creates(alice, zone, due, rule, kind):
    services.profile_update(user=alice, timezone=zone)
    first = services.task_create(user=alice, title="Series", due_at=due, recurrence=rule)
    calendar = read_feed(alice, kind="event" if kind == "VEVENT" else "todo")

    from_feed = feed_occurrences(calendar, uid(first), after=first.due_at, count=5, kind=kind)
    expected = app_occurrences(first, 5)

    assert from_feed == expected
    # The series' times are local, with the zone's definition in the feed.
    component = components(calendar, kind)[uid(first)]
    start = component["DUE" if kind == "VTODO" else "DTSTART"].dt
    assert str(start.tzinfo) == zone and start.replace(tzinfo=None) == due
    assert zone in [str(tz["TZID"]) for tz in calendar.walk("VTIMEZONE")]


def test_a_later_occurrence_in_the_feed_continues_the_series_from_its_anchor(alice):
    """After Jan 31 → Feb 28, the feed shows the Feb 28 occurrence, and its rule still lands on
    Mar 31 (the anchor's day), not Mar 28."""
    services.profile_update(user=alice, timezone="Europe/Berlin")
    first = services.task_create(user=alice, title="Rent", due_at=datetime(2030, 1, 31, 9, 0), recurrence="monthly")
    services.task_complete(task=first)
    second = services.task_spawn_next_occurrence(task_id=first.pk)
    calendar = read_feed(alice)

    assert list(components(calendar)) == [uid(second)]  # the completed one is gone
    from_feed = feed_occurrences(calendar, uid(second), after=second.due_at, count=4)
    assert [moment.astimezone(BERLIN).date().isoformat() for moment in from_feed] == [
        "2030-02-28", "2030-03-31", "2030-04-30", "2030-05-31"]
    assert from_feed == app_occurrences(second, 4)


def test_a_task_is_written_with_its_fields(alice):
    services.profile_update(user=alice, timezone="America/New_York")
    task = services.task_create(user=alice, title="File taxes", description="Form 1040, line 7",
                                priority="P1", tags=["home", "money"], due_at=datetime(2030, 4, 15, 17, 0),
                                reminder_minutes_before=90)
    todo = components(read_feed(alice))[uid(task)]

    assert str(todo["SUMMARY"]) == "File taxes"
    assert str(todo["DESCRIPTION"]) == "Form 1040, line 7"
    assert int(todo["PRIORITY"]) == 1
    assert sorted(str(category) for category in todo["CATEGORIES"].cats) == ["home", "money"]
    assert todo["DUE"].dt == datetime(2030, 4, 15, 17, 0, tzinfo=NEW_YORK)
    assert "RRULE" not in todo
    assert todo["LAST-MODIFIED"].dt == task.updated_at.replace(microsecond=0)
    [alarm] = todo.walk("VALARM")
    assert alarm["TRIGGER"].dt == timedelta(minutes=-90)
    assert alarm["TRIGGER"].params["RELATED"] == "END"  # relative to DUE


@pytest.mark.parametrize("priority, number", [("P1", 1), ("P2", 3), ("P3", 5), ("P4", 9)])
def test_priorities_map_to_icalendar_numbers(alice, priority, number):
    task = services.task_create(user=alice, title="Ranked", priority=priority, due_at=datetime(2030, 5, 1, 9, 0))
    assert int(components(read_feed(alice))[uid(task)]["PRIORITY"]) == number


def test_the_event_variant_has_a_start_end_and_alarm(alice):
    task = services.task_create(user=alice, title="Call", due_at=datetime(2030, 6, 3, 10, 0),
                                reminder_minutes_before=15)
    calendar = read_feed(alice, kind="event")
    assert not calendar.walk("VTODO")
    event = components(calendar, "VEVENT")[uid(task)]
    assert event["DTSTART"].dt.astimezone(UTC) == task.due_at
    assert event["DTEND"].dt > event["DTSTART"].dt
    [alarm] = event.walk("VALARM")
    assert alarm["TRIGGER"].dt == timedelta(minutes=-15)


def test_only_the_owners_open_dated_tasks_are_listed(alice, bob):
    listed = services.task_create(user=alice, title="Open and dated", due_at=datetime(2030, 7, 1, 9, 0))
    undated = services.task_create(user=alice, title="Someday")
    done = services.task_create(user=alice, title="Done", due_at=datetime(2030, 7, 2, 9, 0))
    services.task_complete(task=done)
    bobs = services.task_create(user=bob, title="Bob's secret", due_at=datetime(2030, 7, 1, 9, 0))

    alices_feed = components(read_feed(alice))
    assert list(alices_feed) == [uid(listed)]
    assert uid(undated) not in alices_feed and uid(done) not in alices_feed and uid(bobs) not in alices_feed
    assert list(components(read_feed(bob))) == [uid(bobs)]


def test_the_feed_is_bounded_to_the_soonest_due(alice, settings):
    settings.CALENDAR_FEED_MAX_TASKS = 3
    tasks = [services.task_create(user=alice, title=f"Task {day}", due_at=datetime(2030, 8, day, 9, 0))
             for day in (5, 1, 4, 2, 3)]
    soonest = sorted(tasks, key=lambda task: task.due_at)[:3]
    assert list(components(read_feed(alice))) == [uid(task) for task in soonest]


def test_an_unchanged_feed_answers_304_and_a_change_gives_a_new_etag(alice):
    task = services.task_create(user=alice, title="Stable", due_at=datetime(2030, 9, 1, 9, 0))
    client, path = Client(), feed_path(alice)
    first = client.get(path)
    assert first.status_code == 200 and first["ETag"] and first["Last-Modified"]
    assert "max-age=" in first["Cache-Control"] and "private" in first["Cache-Control"]

    again = client.get(path, headers={"If-None-Match": first["ETag"]})
    assert again.status_code == 304 and again.content == b""
    assert client.head(path, headers={"If-None-Match": first["ETag"]}).status_code == 304
    assert client.head(path)["ETag"] == first["ETag"]

    services.task_update(task=task, title="Stable, renamed")
    changed = client.get(path, headers={"If-None-Match": first["ETag"]})
    assert changed.status_code == 200 and changed["ETag"] != first["ETag"]
    [todo] = icalendar.Calendar.from_ical(changed.content).walk("VTODO")
    assert str(todo["SUMMARY"]) == "Stable, renamed"


def test_completing_a_task_changes_the_etag_though_nothing_listed_is_newer(alice):
    services.task_create(user=alice, title="Stays", due_at=datetime(2030, 9, 1, 9, 0))
    leaves = services.task_create(user=alice, title="Leaves", due_at=datetime(2030, 9, 2, 9, 0))
    client, path = Client(), feed_path(alice)
    first = client.get(path)
    services.task_complete(task=leaves)
    # If-Modified-Since alone is not trusted to mean "unchanged": the feed lost a task.
    by_date = client.get(path, headers={"If-Modified-Since": first["Last-Modified"]})
    by_tag = client.get(path, headers={"If-None-Match": first["ETag"]})
    assert by_date.status_code == 200 and by_tag.status_code == 200
    assert b"Leaves" not in by_tag.content


@pytest.mark.parametrize("how", ["unknown", "rotated", "turned off", "malformed", "other selector"])
def test_a_dead_token_is_a_plain_404(alice, bob, how):
    services.task_create(user=alice, title="Private", due_at=datetime(2030, 10, 1, 9, 0))
    path = feed_path(alice)
    token = path.removeprefix("/calendar/").removesuffix(".ics")
    if how == "unknown":
        path = f"/calendar/{'A' * 16}{token[16:]}.ics"
    elif how == "rotated":
        feed_services.calendar_feed_rotate(user=alice)
    elif how == "turned off":
        assert feed_services.calendar_feed_turn_off(user=alice)
    elif how == "malformed":
        path = f"/calendar/{token[:-1]}.ics"
    else:  # bob's selector with alice's secret part
        bobs = feed_path(bob).removeprefix("/calendar/")
        path = f"/calendar/{bobs[:16]}{token[16:]}.ics"
    response = Client().get(path)
    assert response.status_code == 404
    assert b"Private" not in response.content


def test_an_unknown_kind_is_refused_by_name(alice):
    response = Client().get(feed_path(alice), {"kind": "journal"})
    assert response.status_code == 400
    assert b"kind" in response.content


def test_the_api_shows_rotates_and_turns_off_the_feed(alice_api, alice):
    assert alice_api.get("/api/calendar-feed").json() == {
        "enabled": False, "url": None, "event_url": None, "created_at": None}

    turned_on = alice_api.post("/api/calendar-feed/rotate")
    assert turned_on.status_code == 200
    url = turned_on.json()["url"]
    assert url.startswith("http://testserver/calendar/") and url.endswith(".ics")
    assert turned_on.json()["event_url"] == url + "?kind=event"
    assert alice_api.get("/api/calendar-feed").json()["url"] == url
    assert Client().get(url.removeprefix("http://testserver")).status_code == 200

    rotated = alice_api.post("/api/calendar-feed/rotate").json()["url"]
    assert rotated != url
    assert Client().get(url.removeprefix("http://testserver")).status_code == 404
    assert Client().get(rotated.removeprefix("http://testserver")).status_code == 200

    assert alice_api.delete("/api/calendar-feed").status_code == 204
    assert alice_api.get("/api/calendar-feed").json()["enabled"] is False
    assert Client().get(rotated.removeprefix("http://testserver")).status_code == 404


def test_the_api_needs_a_token():
    assert Client().get("/api/calendar-feed").status_code == 401
    assert Client().post("/api/calendar-feed/rotate").status_code == 401


def test_the_token_is_not_stored(alice):
    feed = feed_services.calendar_feed_rotate(user=alice)
    token = feed_services.calendar_feed_token(feed)
    row = type(feed).objects.filter(pk=feed.pk).values().get()
    assert all(token[16:] not in str(value) for value in row.values())


def test_the_settings_page_shows_the_url_and_its_buttons(alice):
    browser = Client()
    browser.force_login(alice)
    assert b"The calendar feed is off." in browser.get("/settings/").content

    browser.post("/settings/calendar-feed/rotate")
    page = browser.get("/settings/").content.decode()
    feed = feed_services.calendar_feed_get(user=alice)
    assert f"/calendar/{feed_services.calendar_feed_token(feed)}.ics" in page
    assert "Make a new URL" in page and "Turn off" in page

    browser.post("/settings/calendar-feed/off")
    assert feed_services.calendar_feed_get(user=alice) is None


def test_a_live_token_stays_out_of_the_logs(alice, caplog, settings):
    """Served, refused for its kind or for the rate: the token is in no log line."""
    settings.THROTTLE_CALENDAR_FEED_PER_FEED = (1, 3600)
    path = feed_path(alice)
    with caplog.at_level("INFO"):
        assert Client().get(path).status_code == 200
        assert Client().get(path, {"kind": "nope"}).status_code == 400
        assert Client().get(path).status_code == 429
    assert [record for record in caplog.records if record.name == "todo.access"], "the requests were not logged"
    token = path.removeprefix("/calendar/").removesuffix(".ics")
    leaks = [record for record in caplog.records
             if token in record.getMessage() or token in str(getattr(record, "path", ""))]
    assert leaks == []


def test_a_tag_rename_or_a_zone_change_gives_a_new_etag(alice):
    """Neither touches the task's updated_at, but both change what the feed says."""
    task = services.task_create(user=alice, title="Tagged", tags=["work"], due_at=datetime(2030, 9, 1, 9, 0))
    client, path = Client(), feed_path(alice)
    first = client.get(path)["ETag"]

    services.tag_rename(user=alice, name="work", new_name="office")
    renamed = client.get(path, headers={"If-None-Match": first})
    assert renamed.status_code == 200
    [todo] = icalendar.Calendar.from_ical(renamed.content).walk("VTODO")
    assert [str(category) for category in todo["CATEGORIES"].cats] == ["office"]

    services.profile_update(user=alice, timezone="Asia/Tokyo")
    moved = client.get(path, headers={"If-None-Match": renamed["ETag"]})
    assert moved.status_code == 200
    [todo] = icalendar.Calendar.from_ical(moved.content).walk("VTODO")
    assert str(todo["DUE"].dt.tzinfo) == "Asia/Tokyo" and todo["DUE"].dt == task.due_at


def test_full_downloads_are_rate_limited_but_unchanged_refreshes_are_not(alice, settings):
    settings.THROTTLE_CALENDAR_FEED_PER_FEED = (2, 3600)
    services.task_create(user=alice, title="Busy", due_at=datetime(2030, 9, 1, 9, 0))
    client, path = Client(), feed_path(alice)
    etag = client.get(path)["ETag"]
    assert client.get(path).status_code == 200
    refused = client.get(path)
    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0
    assert b"calendar feed downloads" in refused.content
    assert client.get(path, headers={"If-None-Match": etag}).status_code == 304


def test_the_admin_lists_feeds_without_their_url_and_deleting_one_turns_it_off(alice, django_user_model):
    admin_user = django_user_model.objects.create_superuser("root", password="root-Password-1")
    path = feed_path(alice)
    feed = feed_services.calendar_feed_get(user=alice)
    browser = Client()
    browser.force_login(admin_user)
    listing = browser.get("/admin/tasks_app/calendarfeed/")
    assert listing.status_code == 200 and b"alice" in listing.content
    token = path.removeprefix("/calendar/").removesuffix(".ics")
    detail = browser.get(f"/admin/tasks_app/calendarfeed/{feed.pk}/change/")
    assert detail.status_code == 200 and token.encode() not in detail.content and feed.seed.encode() not in detail.content

    browser.post(f"/admin/tasks_app/calendarfeed/{feed.pk}/delete/", {"post": "yes"})
    assert Client().get(path).status_code == 404


@pytest.mark.django_db(transaction=True)
def test_two_first_rotations_at_once_leave_one_working_feed(alice):
    """The second insert waits on the first's unique user row, then fails; the rotation then updates
    that row instead of answering 500."""
    import threading

    from django.db import connection, connections, transaction
    from django.utils import timezone

    from tasks_app.models import CalendarFeed

    outcome = {}

    def rotate_in_another_connection():
        try:
            outcome["feed"] = feed_services.calendar_feed_rotate(user=alice)
        except Exception as exc:  # reported below: the assertion is that there is none
            outcome["error"] = exc
        finally:
            connections.close_all()

    with transaction.atomic():
        CalendarFeed.objects.create(user=alice, selector="A" * 16, seed="0" * 64, created_at=timezone.now())
        other = threading.Thread(target=rotate_in_another_connection)
        other.start()
        # Commit only once the other insert is waiting on this one's row.
        with connection.cursor() as cursor:
            for _ in range(2000):
                # Statistics views are read once per transaction unless the snapshot is dropped.
                cursor.execute("SELECT pg_stat_clear_snapshot()")
                cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                               "AND datname = current_database()")
                if cursor.fetchone()[0]:
                    break
                other.join(0.01)
            else:
                pytest.fail("the other rotation never waited on the first")
    other.join(30)

    assert "error" not in outcome, outcome.get("error")
    assert CalendarFeed.objects.filter(user=alice).count() == 1
    token = feed_services.calendar_feed_token(outcome["feed"])
    assert Client().get(f"/calendar/{token}.ics").status_code == 200
