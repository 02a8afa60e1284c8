"""GET/PATCH /api/me: who you are and your preferences; a bad value is a 422 naming the field."""

from datetime import UTC, datetime

import pytest

from tasks_app import selectors

pytestmark = pytest.mark.django_db


def patch(client, body):
    return client.patch("/api/me", body, content_type="application/json")


def detail_fields(response) -> set[str]:
    return {(item["field"] or "").split(".")[-1] for item in response.json()["errors"]}


def test_a_user_without_a_profile_reads_the_defaults(alice_api, settings):
    body = alice_api.get("/api/me").json()
    assert body["username"] == "alice"
    assert body["profile"] == {"timezone": settings.TIME_ZONE, "default_reminder_minutes": 60,
                               "quiet_hours_start": None, "quiet_hours_end": None, "week_start": "Monday",
                               "email_reminders": False}


def test_preferences_change_and_read_back(alice_api):
    response = patch(alice_api, {"timezone": "europe/berlin", "default_reminder_minutes": 15,
                                 "quiet_hours_start": "22:00", "quiet_hours_end": "07:00", "week_start": "Sunday"})
    assert response.status_code == 200, response.content
    profile = response.json()["profile"]
    assert profile == {"timezone": "Europe/Berlin", "default_reminder_minutes": 15, "quiet_hours_start": "22:00",
                       "quiet_hours_end": "07:00", "week_start": "Sunday", "email_reminders": False}
    assert alice_api.get("/api/me").json()["profile"] == profile
    # null turns the optional ones off; what is not sent stays.
    off = patch(alice_api, {"default_reminder_minutes": None, "quiet_hours_start": None, "quiet_hours_end": None})
    assert off.json()["profile"] == {**profile, "default_reminder_minutes": None, "quiet_hours_start": None,
                                     "quiet_hours_end": None}


@pytest.mark.parametrize("body, field, words", [
    ({"timezone": "Mars/Olympus"}, "timezone", "Mars/Olympus"),
    ({"timezone": None}, "timezone", "IANA"),
    ({"timezone": "x" * 101}, "timezone", "100"),
    ({"default_reminder_minutes": -5}, "default_reminder_minutes", ""),
    ({"default_reminder_minutes": 10**9}, "default_reminder_minutes", ""),
    ({"quiet_hours_start": "25:99", "quiet_hours_end": "07:00"}, "quiet_hours_start", "time of day"),
    ({"quiet_hours_start": "22:00"}, "quiet_hours_end", "both"),
    ({"quiet_hours_start": "22:00", "quiet_hours_end": "22:00"}, "quiet_hours_end", "differ"),
    ({"week_start": "Wednesday"}, "week_start", "Monday"),
    ({"week_start": 3}, "week_start", "Monday"),
    ({"username": "mallory"}, "username", ""),
])
def test_a_bad_value_is_a_422_naming_the_field_and_nothing_changes(alice_api, alice, body, field, words):
    response = patch(alice_api, body)
    assert response.status_code == 422, response.content
    assert field in detail_fields(response) or field in str(response.json()["detail"])
    assert words in str(response.json()["detail"])
    profile = selectors.profile_get(user=type(alice).objects.get(pk=alice.pk))
    assert (profile.timezone, profile.quiet_hours_start) == (selectors.default_timezone_name(), None)


def test_each_user_sees_and_changes_only_their_own(alice_api, bob_api):
    patch(alice_api, {"timezone": "Asia/Tokyo"})
    assert bob_api.get("/api/me").json()["profile"]["timezone"] == selectors.default_timezone_name()
    assert bob_api.get("/api/me").json()["username"] == "bob"


def test_naive_times_from_the_api_are_read_in_the_users_zone(alice_api):
    patch(alice_api, {"timezone": "Asia/Tokyo"})
    created = alice_api.post("/api/tasks", {"title": "Dentist", "due_at": "2027-01-15T09:00"},
                             content_type="application/json").json()
    assert datetime.fromisoformat(created["due_at"]) == datetime(2027, 1, 15, 0, 0, tzinfo=UTC)


def test_a_zone_change_keeps_due_times_and_says_so(alice_api):
    created = alice_api.post("/api/tasks", {"title": "Dentist", "due_at": "2027-01-15T09:00:00+00:00"},
                             content_type="application/json").json()
    response = patch(alice_api, {"timezone": "America/New_York"})
    assert "America/New_York" in response.json()["note"] and "keep their moment" in response.json()["note"]
    again = alice_api.get(f"/api/tasks/{created['id']}").json()
    assert datetime.fromisoformat(again["due_at"]) == datetime(2027, 1, 15, 9, 0, tzinfo=UTC)
    # Nothing to say when the zone did not change.
    assert patch(alice_api, {"week_start": 7}).json()["note"] is None


def test_me_needs_authentication(client):
    assert client.get("/api/me").status_code == 401
