import hashlib
import json

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def post(client, path, body):
    return client.post(path, json.dumps(body), content_type="application/json")


def test_register_creates_an_account_that_can_get_a_token():
    client = Client()
    response = post(client, "/api/auth/register", {"username": "carol", "password": "a-Long-passphrase-9"})
    assert response.status_code == 201
    assert response.json()["username"] == "carol"

    token = post(client, "/api/auth/token", {"username": "carol", "password": "a-Long-passphrase-9"}).json()["token"]
    listing = client.get("/api/tasks", headers={"Authorization": f"Bearer {token}"})
    assert listing.status_code == 200
    assert listing.json() == {"items": [], "next_cursor": None, "count": 0}


def test_register_rejects_a_taken_username_with_409(alice):
    response = post(Client(), "/api/auth/register", {"username": "alice", "password": "another-Password-1"})
    assert response.status_code == 409
    assert "taken" in response.json()["detail"]


@pytest.mark.parametrize(
    "body, field",
    [
        ({"username": "dave", "password": "short"}, "password"),
        ({"username": "dave", "password": "12345678901"}, "password"),
        ({"username": "bad name!", "password": "a-Long-passphrase-9"}, "username"),
        ({"username": "", "password": "a-Long-passphrase-9"}, "username"),
        ({"username": "dave"}, "password"),
    ],
)
def test_register_rejects_bad_credentials_with_422_naming_the_field(body, field):
    response = post(Client(), "/api/auth/register", body)
    assert response.status_code == 422
    assert any(error["field"] == field for error in response.json()["errors"]), response.json()


def test_register_is_refused_when_signup_is_off(settings):
    settings.ALLOW_SIGNUP = False
    response = post(Client(), "/api/auth/register", {"username": "erin", "password": "a-Long-passphrase-9"})
    assert response.status_code == 403


def test_token_with_wrong_password_is_401(alice):
    response = post(Client(), "/api/auth/token", {"username": "alice", "password": "wrong"})
    assert response.status_code == 401


def test_tokens_are_stored_hashed(alice):
    from tasks_app.models import ApiToken

    token = post(Client(), "/api/auth/token", {"username": "alice", "password": "alice-Password-1"}).json()["token"]
    stored = ApiToken.objects.get(user=alice)
    assert token not in (stored.key_hash, stored.prefix)
    assert stored.key_hash == hashlib.sha256(token.encode()).hexdigest()


@pytest.mark.parametrize("header", [None, "Bearer", "Bearer not-a-token", "Basic YWxpY2U6eA=="])
def test_api_without_a_valid_token_is_401(header, alice):
    headers = {"Authorization": header} if header else {}
    response = Client(headers=headers).get("/api/tasks")
    assert response.status_code == 401


def test_token_of_a_deactivated_user_is_401(alice, alice_api):
    alice.is_active = False
    alice.save()
    assert alice_api.get("/api/tasks").status_code == 401


def test_a_logged_in_browser_session_can_use_the_api(alice):
    client = Client()
    client.force_login(alice)
    assert client.get("/api/tasks").status_code == 200
