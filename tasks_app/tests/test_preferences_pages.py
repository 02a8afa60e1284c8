"""The settings page changes your preferences; sign-up starts you in your browser's time zone; pages
show times in your zone."""

from datetime import UTC, datetime

import pytest
from django.contrib.auth import get_user_model

from tasks_app import selectors, services
from tasks_app.accounts import api_token_create

pytestmark = pytest.mark.django_db

PREFERENCES = {"timezone": "Europe/Berlin", "default_reminder_minutes": "30", "quiet_hours_start": "22:00",
               "quiet_hours_end": "07:00", "week_start": "7"}


def fresh(user):
    return get_user_model().objects.get(pk=user.pk)


def test_the_settings_page_changes_the_preferences_and_says_what_a_zone_change_means(client, alice):
    client.force_login(alice)
    page = client.get("/settings/")
    assert b'name="timezone"' in page.content and b"Time zone and reminders" in page.content

    response = client.post("/settings/preferences", PREFERENCES, follow=True)

    assert response.status_code == 200
    profile = selectors.profile_get(user=fresh(alice))
    assert (profile.timezone, profile.default_reminder_minutes, str(profile.quiet_hours_start),
            str(profile.quiet_hours_end), profile.week_start) == ("Europe/Berlin", 30, "22:00:00", "07:00:00", 7)
    assert b"Your time zone is now Europe/Berlin" in response.content
    assert b'<option value="Europe/Berlin" selected>' in response.content


def test_an_empty_default_reminder_turns_it_off(client, alice):
    client.force_login(alice)
    client.post("/settings/preferences", {**PREFERENCES, "default_reminder_minutes": ""})
    assert selectors.profile_get(user=fresh(alice)).default_reminder_minutes is None


@pytest.mark.parametrize("field, value, words", [
    ("timezone", "Mars/Olympus", b"Mars/Olympus"),
    ("default_reminder_minutes", "\u00b2", b"default reminder minutes"),
    ("default_reminder_minutes", "99999999999", b"default reminder minutes"),
    ("quiet_hours_start", "late", b"quiet hours start"),
    ("week_start", "3", b"week start"),
])
def test_a_bad_value_shows_the_page_again_naming_the_field_and_saves_nothing(client, alice, field, value, words):
    client.force_login(alice)
    response = client.post("/settings/preferences", {**PREFERENCES, field: value})
    assert response.status_code == 422
    assert words in response.content
    assert selectors.profile_get(user=fresh(alice)).timezone == selectors.default_timezone_name()


def test_the_settings_page_shows_times_in_the_users_zone(client, alice):
    services.profile_update(user=alice, timezone="Asia/Tokyo")
    _, token = api_token_create(user=alice, name="laptop")
    token.created_at = datetime(2027, 1, 15, 23, 30, tzinfo=UTC)  # 08:30 the next day in Tokyo
    token.save(update_fields=["created_at"])
    client.force_login(alice)
    assert b"2027-01-16 08:30" in client.get("/settings/").content


def test_sign_up_keeps_the_zone_the_browser_guessed(client):
    page = client.get("/accounts/signup/")
    assert b'name="timezone"' in page.content and b"guess_timezone.js" in page.content

    client.post("/accounts/signup/", {"username": "frank", "password": "a-Long-passphrase-9",
                                      "timezone": "America/Sao_Paulo"})

    frank = get_user_model().objects.get(username="frank")
    assert selectors.profile_get(user=frank).timezone == "America/Sao_Paulo"


@pytest.mark.parametrize("guess", ["Mars/Olympus", "", "x" * 5000, "Europe/Berlin\x00"])
def test_a_guess_the_server_does_not_know_is_ignored_and_sign_up_goes_on(client, guess):
    response = client.post("/accounts/signup/", {"username": "frank", "password": "a-Long-passphrase-9",
                                                 "timezone": guess})
    assert response.status_code == 302
    frank = get_user_model().objects.get(username="frank")
    assert frank.profile.timezone == selectors.default_timezone_name()


def test_the_admin_lists_profiles_for_reading(admin_client, alice):
    services.profile_update(user=alice, timezone="Asia/Tokyo")
    page = admin_client.get("/admin/tasks_app/profile/")
    assert page.status_code == 200 and b"Asia/Tokyo" in page.content
    assert admin_client.get("/admin/tasks_app/profile/add/").status_code == 403


def test_the_dashboard_and_the_chat_page_render_in_the_users_zone(client, alice):
    services.profile_update(user=alice, timezone="Asia/Tokyo")
    client.force_login(alice)
    assert b'data-time-zone="Asia/Tokyo"' in client.get("/tasks/").content
    assert b'data-time-zone="Asia/Tokyo"' in client.get("/").content
