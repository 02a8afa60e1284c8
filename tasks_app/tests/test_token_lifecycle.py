"""API tokens expire, can be listed (never the secret) and revoked, and die with a password change."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import PasswordChangeForm
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tasks_app import accounts, cleaning
from tasks_app.models import ApiToken, Profile
from tasks_app.services import profiles

pytestmark = pytest.mark.django_db


def bearer(token: str) -> Client:
    return Client(headers={"Authorization": f"Bearer {token}"})


def issue(username: str, password: str, name: str = "") -> dict:
    response = Client().post("/api/auth/token", json.dumps({"username": username, "password": password,
                                                            "name": name}), content_type="application/json")
    assert response.status_code == 200, response.content
    return response.json()


def test_a_token_expires_after_the_configured_days(alice, settings):
    settings.API_TOKEN_TTL_DAYS = 30
    issued = issue("alice", "alice-Password-1", name="laptop")
    expires_at = ApiToken.objects.get(user=alice).expires_at
    assert abs(expires_at - (timezone.now() + timedelta(days=30))) < timedelta(minutes=1)
    assert issued["expires_at"].startswith(f"{expires_at:%Y-%m-%d}")

    client = bearer(issued["token"])
    assert client.get("/api/tasks").status_code == 200
    ApiToken.objects.filter(user=alice).update(expires_at=timezone.now() - timedelta(seconds=1))
    response = client.get("/api/tasks")
    assert response.status_code == 401


def fields(instance) -> dict:
    return {field.attname: getattr(instance, field.attname) for field in type(instance)._meta.concrete_fields}


def test_a_token_brings_its_user_and_profile_in_one_statement(alice, bob):
    profiles.profile_ensure(user=alice, timezone="Asia/Tokyo")
    token = accounts.api_token_issue(user=alice)
    accounts.api_token_issue(user=bob)
    accounts.api_token_find(token)  # sets last_used_at: the next lookups within the minute only read

    with CaptureQueriesContext(connection) as queries:
        found = accounts.api_token_find(token)
        user, zone = found.user, cleaning.user_timezone(found.user)
        profile_user = found.user.profile.user

    assert len(queries) == 1, [query["sql"] for query in queries]
    assert fields(found) == fields(ApiToken.objects.get(key_hash=found.key_hash))
    assert fields(user) == fields(get_user_model().objects.get(pk=alice.pk))
    assert fields(user.profile) == fields(Profile.objects.get(user=alice))
    assert str(zone) == "Asia/Tokyo" and profile_user is user
    assert found.user.check_password("alice-Password-1")


def test_a_token_of_a_user_without_a_profile_reads_the_defaults_without_asking_again(alice, settings):
    assert not Profile.objects.filter(user=alice).exists()
    token = accounts.api_token_issue(user=alice)
    accounts.api_token_find(token)

    with CaptureQueriesContext(connection) as queries:
        found = accounts.api_token_find(token)
        zone = cleaning.user_timezone(found.user)
        with pytest.raises(Profile.DoesNotExist):
            found.user.profile  # noqa: B018 -- reading it is the test

    assert len(queries) == 1
    assert found.user.pk == alice.pk and str(zone) == settings.TIME_ZONE


def test_a_lookup_finds_nothing_for_an_unknown_expired_or_inactive_token(alice):
    token = accounts.api_token_issue(user=alice)
    assert accounts.api_token_find(token) is not None
    assert accounts.api_token_find(token + "x") is None
    assert accounts.api_token_find("") is None

    ApiToken.objects.filter(user=alice).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert accounts.api_token_find(token) is None
    ApiToken.objects.filter(user=alice).update(expires_at=timezone.now() + timedelta(days=1))
    alice.is_active = False
    alice.save()
    assert accounts.api_token_find(token) is None


def test_listing_shows_the_callers_tokens_without_their_secrets(alice, bob):
    laptop = issue("alice", "alice-Password-1", name="laptop")["token"]
    issue("alice", "alice-Password-1", name="ci")
    issue("bob", "bob-Password-1", name="bob's")

    response = bearer(laptop).get("/api/auth/tokens")
    assert response.status_code == 200
    listed = response.json()
    assert [token["name"] for token in listed] == ["ci", "laptop"]
    assert set(listed[0]) == {"id", "name", "prefix", "created_at", "last_used_at", "expires_at"}
    assert listed[1]["prefix"] == laptop[:12] and listed[1]["last_used_at"] is not None
    assert laptop not in response.content.decode()


def test_revoking_a_token_by_id_works_only_on_ones_own(alice, bob):
    alices = issue("alice", "alice-Password-1", name="laptop")["token"]
    spare = issue("alice", "alice-Password-1", name="spare")["token"]
    bobs = issue("bob", "bob-Password-1")["token"]
    spare_id = ApiToken.objects.get(name="spare").pk

    # Bob cannot revoke (or learn of) Alice's token: 404, as for a missing one.
    response = bearer(bobs).delete(f"/api/auth/tokens/{spare_id}")
    assert response.status_code == 404
    assert bearer(bobs).delete("/api/auth/tokens/999999").json() == response.json()
    assert bearer(spare).get("/api/tasks").status_code == 200

    assert bearer(alices).delete(f"/api/auth/tokens/{spare_id}").status_code == 204
    assert bearer(spare).get("/api/tasks").status_code == 401
    assert bearer(alices).get("/api/tasks").status_code == 200


def test_delete_token_revokes_the_presented_one(alice):
    first = issue("alice", "alice-Password-1")["token"]
    second = issue("alice", "alice-Password-1")["token"]
    assert bearer(first).delete("/api/auth/token").status_code == 204
    assert bearer(first).get("/api/tasks").status_code == 401
    assert bearer(second).get("/api/tasks").status_code == 200
    # A browser session presents no token: nothing to revoke.
    browser = Client()
    browser.force_login(alice)
    assert browser.delete("/api/auth/token").status_code == 401


def test_a_password_change_revokes_every_token(alice, bob):
    tokens = [issue("alice", "alice-Password-1")["token"] for _ in range(2)]
    bobs = issue("bob", "bob-Password-1")["token"]
    form = PasswordChangeForm(alice, {"old_password": "alice-Password-1", "new_password1": "a-New-passphrase-7",
                                      "new_password2": "a-New-passphrase-7"})
    assert form.is_valid(), form.errors
    form.save()
    for token in tokens:
        assert bearer(token).get("/api/tasks").status_code == 401
    assert not ApiToken.objects.filter(user=alice).exists()
    assert bearer(bobs).get("/api/tasks").status_code == 200


def test_set_password_anywhere_revokes_the_tokens_too(alice):
    token = accounts.api_token_issue(user=alice)
    alice.set_password("another-Passphrase-3")
    alice.save()  # as the admin's password form and `manage.py changepassword` do
    assert bearer(token).get("/api/tasks").status_code == 401


def test_the_settings_page_lists_and_revokes_tokens_and_changes_the_password(alice, bob):
    laptop = accounts.api_token_issue(user=alice, name="laptop")
    bobs = accounts.api_token_issue(user=bob, name="bob-secret-name")
    page = Client()
    assert page.get("/settings/").status_code == 302  # login required
    page.force_login(alice)
    html = page.get("/settings/").content.decode()
    assert "laptop" in html and laptop[:12] in html and laptop not in html
    assert "bob-secret-name" not in html

    bobs_id = ApiToken.objects.get(user=bob).pk
    assert page.post(f"/settings/tokens/{bobs_id}/revoke").status_code == 404
    assert bearer(bobs).get("/api/tasks").status_code == 200
    laptop_id = ApiToken.objects.get(user=alice).pk
    assert page.post(f"/settings/tokens/{laptop_id}/revoke").status_code == 302
    assert bearer(laptop).get("/api/tasks").status_code == 401

    other = accounts.api_token_issue(user=alice, name="other")
    response = page.post("/settings/", {"old_password": "alice-Password-1", "new_password1": "a-New-passphrase-7",
                                        "new_password2": "a-New-passphrase-7"})
    assert response.status_code == 302
    assert bearer(other).get("/api/tasks").status_code == 401
    assert page.get("/settings/").status_code == 200  # this browser stays signed in
