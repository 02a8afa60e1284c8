"""Failed sign-ins lock a username and an address out for a while, counted in the real Redis:
POST /api/auth/token, the login page and the admin login alike; sign-up attempts are limited.
Windows are made short through settings and the tests wait them out (nothing fakes time)."""

from __future__ import annotations

import json
import time

import pytest
from django.contrib.auth.hashers import MD5PasswordHasher
from django.test import Client

pytestmark = pytest.mark.django_db

WINDOW = 2  # seconds


@pytest.fixture
def short_lockout(settings):
    settings.THROTTLE_LOGIN_FAILURES_PER_USERNAME = (3, WINDOW)
    settings.THROTTLE_LOGIN_FAILURES_PER_IP = (5, WINDOW)


def token_request(username: str, password: str, ip: str = "10.0.0.1"):
    return Client(REMOTE_ADDR=ip).post("/api/auth/token", json.dumps({"username": username, "password": password}),
                                      content_type="application/json")


def assert_throttled(response, word: str):
    assert response.status_code == 429, response.content
    retry_after = int(response["Retry-After"])
    assert 1 <= retry_after <= WINDOW
    body = response.content.decode()
    assert word in body and "try again in" in body


def test_a_username_is_locked_out_after_the_configured_failures_and_free_after_the_window(alice, short_lockout):
    for attempt in range(3):  # each from another address: only the username count reaches its limit
        assert token_request("alice", "wrong", ip=f"10.0.1.{attempt}").status_code == 401
    # Locked: even the right password is refused, from a fresh address, until the window ends.
    assert_throttled(token_request("alice", "alice-Password-1", ip="10.0.2.1"), "this username")
    assert token_request("bob", "whatever", ip="10.0.2.1").status_code == 401  # other names are not locked

    time.sleep(WINDOW + 0.5)
    response = token_request("alice", "alice-Password-1", ip="10.0.2.1")
    assert response.status_code == 200 and response.json()["token"].startswith("todo_")


def test_an_address_is_locked_out_after_the_configured_failures(alice, short_lockout):
    for attempt in range(5):  # five different usernames: only the address count reaches its limit
        assert token_request(f"nobody{attempt}", "wrong", ip="10.0.3.3").status_code == 401
    assert_throttled(token_request("alice", "alice-Password-1", ip="10.0.3.3"), "your address")
    # Another address signs in as usual.
    assert token_request("alice", "alice-Password-1", ip="10.0.3.4").status_code == 200

    time.sleep(WINDOW + 0.5)
    assert token_request("alice", "alice-Password-1", ip="10.0.3.3").status_code == 200


def test_the_login_page_and_the_admin_login_share_the_lockout(alice, short_lockout):
    page = Client(REMOTE_ADDR="10.0.4.4")
    for _ in range(2):
        assert page.post("/accounts/login/", {"username": "alice", "password": "wrong"}).status_code == 200
    admin = Client(REMOTE_ADDR="10.0.4.5")
    assert admin.post("/admin/login/", {"username": "alice", "password": "wrong"}).status_code == 200
    # Three failures over the three doors: every door is now closed for alice.
    for client, path in ((page, "/accounts/login/"), (admin, "/admin/login/")):
        assert_throttled(client.post(path, {"username": "alice", "password": "alice-Password-1"}), "this username")
    assert_throttled(token_request("alice", "alice-Password-1"), "this username")

    time.sleep(WINDOW + 0.5)
    response = page.post("/accounts/login/", {"username": "alice", "password": "alice-Password-1"})
    assert response.status_code == 302


class CountingHasher(MD5PasswordHasher):
    """The suite's fast hasher, counting how often a password is hashed or checked."""

    calls = 0

    def encode(self, password, salt):
        type(self).calls += 1
        return super().encode(password, salt)


@pytest.fixture
def counting_hasher(settings):
    settings.PASSWORD_HASHERS = [f"{__name__}.CountingHasher"]
    CountingHasher.calls = 0
    return CountingHasher


def test_known_and_unknown_usernames_cost_the_same(django_user_model, short_lockout, counting_hasher,
                                                   django_assert_num_queries):
    django_user_model.objects.create_user("carol", password="carol-Password-1")
    costs = {}
    for name in ("carol", "no-such-user"):
        counting_hasher.calls = 0
        assert token_request(name, "wrong", ip="10.0.5.5").status_code == 401
        costs[name] = counting_hasher.calls
    # A wrong password is hashed once whether the user exists or not (Django's ModelBackend).
    assert costs == {"carol": 1, "no-such-user": 1}

    for name in ("carol", "no-such-user"):
        for _ in range(3):
            token_request(name, "wrong", ip="10.0.5.6")
        counting_hasher.calls = 0
        # Locked out: refused before any user lookup or hash, for both alike.
        with django_assert_num_queries(0):
            assert token_request(name, "carol-Password-1", ip="10.0.5.7").status_code == 429
        assert counting_hasher.calls == 0, name


def register(username: str, ip: str):
    return Client(REMOTE_ADDR=ip).post("/api/auth/register",
                                       json.dumps({"username": username, "password": "a-Long-passphrase-9"}),
                                       content_type="application/json")


def test_sign_ups_are_limited_per_address_and_per_username(settings):
    settings.THROTTLE_SIGNUP_PER_IP = (2, WINDOW)
    settings.THROTTLE_SIGNUP_PER_USERNAME = (2, WINDOW)
    assert register("dora", "10.0.6.1").status_code == 201
    assert register("dora", "10.0.6.2").status_code == 409  # taken: still an attempt on that name
    assert_throttled(register("dora", "10.0.6.3"), "sign-ups for one username")

    assert register("eve1", "10.0.7.1").status_code == 201
    assert register("eve2", "10.0.7.1").status_code == 201
    assert_throttled(register("eve3", "10.0.7.1"), "sign-ups from one address")
    page = Client(REMOTE_ADDR="10.0.7.1").post("/accounts/signup/", {"username": "eve4",
                                                                     "password": "a-Long-passphrase-9"})
    assert page.status_code == 429 and page["Retry-After"]

    time.sleep(WINDOW + 0.5)
    assert register("eve3", "10.0.7.1").status_code == 201


def test_sign_up_turned_off_is_403_not_a_rate_limit(settings):
    settings.ALLOW_SIGNUP = False
    settings.THROTTLE_SIGNUP_PER_IP = (1, WINDOW)
    for _ in range(3):
        assert register("fred", "10.0.8.1").status_code == 403
