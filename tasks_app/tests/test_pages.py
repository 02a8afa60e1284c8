"""Sign-up and log-in forms for the web pages."""

import pytest
from django.contrib.auth import get_user_model

pytestmark = pytest.mark.django_db


def test_home_requires_login(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_signup_form_creates_and_logs_in_the_user(client):
    response = client.post("/accounts/signup/", {"username": "frank", "password": "a-Long-passphrase-9"})
    assert response.status_code == 302
    assert get_user_model().objects.filter(username="frank").exists()
    assert client.get("/").status_code == 200


def test_signup_form_shows_password_problems(client):
    response = client.post("/accounts/signup/", {"username": "frank", "password": "123"})
    assert response.status_code == 200
    assert b"too short" in response.content
    assert not get_user_model().objects.filter(username="frank").exists()


def test_signup_is_hidden_when_turned_off(client, settings):
    settings.ALLOW_SIGNUP = False
    assert client.get("/accounts/signup/").status_code == 404
    assert b"Sign up" not in client.get("/accounts/login/").content


def test_login_form_logs_in(client, alice):
    response = client.post("/accounts/login/", {"username": "alice", "password": "alice-Password-1"})
    assert response.status_code == 302
    assert client.get("/").status_code == 200


def test_login_form_rejects_a_wrong_password(client, alice):
    response = client.post("/accounts/login/", {"username": "alice", "password": "nope"})
    assert response.status_code == 200
    assert b"didn't match" in response.content
