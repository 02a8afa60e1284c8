"""/api/push: the VAPID public key; saving a browser's subscription with every value checked (422
naming it), the SSRF rules for endpoints, the per-user cap, and no user seeing or removing
another's subscriptions."""

import os

import pytest

from tasks_app.models import PushSubscription
from tasks_app.push import vapid

from .push_service import Browser, b64url

SERVICE = "https://fcm.googleapis.com/fcm/send/"


def post(client, body):
    return client.post("/api/push/subscriptions", body, content_type="application/json",
                       headers={"User-Agent": "Mozilla/5.0 (X11; Linux) Chromium/140"})


def a_subscription(endpoint=None) -> dict:
    return Browser().subscription_json(endpoint or SERVICE + b64url(os.urandom(12)))


@pytest.mark.django_db
def test_the_public_key_is_served_without_sign_in_and_is_a_p256_point(client):
    response = client.get("/api/push/key")
    assert response.status_code == 200
    key = response.json()["public_key"]
    assert key == vapid.public_key()
    raw = vapid.b64url_decode(key)
    assert len(raw) == 65 and raw[0] == 4


@pytest.mark.django_db
def test_saving_a_subscription_then_listing_and_deleting_it(alice_api):
    body = a_subscription()
    created = post(alice_api, body)
    assert created.status_code == 201, created.content
    saved = created.json()
    assert saved["endpoint"] == body["endpoint"]
    assert saved["user_agent"].startswith("Mozilla/5.0")
    assert "p256dh" not in saved and "auth" not in saved  # keys are the browser's secrets: never echoed

    again = post(alice_api, body)
    assert (again.status_code, again.json()["id"]) == (200, saved["id"])
    assert [row["id"] for row in alice_api.get("/api/push/subscriptions").json()] == [saved["id"]]

    assert alice_api.delete(f"/api/push/subscriptions/{saved['id']}").status_code == 204
    assert alice_api.get("/api/push/subscriptions").json() == []


@pytest.mark.django_db
def test_another_user_can_neither_list_nor_delete_my_subscriptions(alice_api, bob_api):
    mine = post(alice_api, a_subscription()).json()

    assert bob_api.get("/api/push/subscriptions").json() == []
    refused = bob_api.delete(f"/api/push/subscriptions/{mine['id']}")
    assert refused.status_code == 404
    assert refused["Content-Type"] == "application/problem+json"
    assert PushSubscription.objects.filter(pk=mine["id"]).exists()


@pytest.mark.django_db
def test_a_browser_that_signs_in_as_someone_else_moves_its_subscription(alice, bob, alice_api, bob_api):
    """A shared browser: the person signed in last gets its notices, never both."""
    body = a_subscription()
    post(alice_api, body)
    assert post(bob_api, body).status_code == 201

    assert list(PushSubscription.objects.values_list("user__username", flat=True)) == ["bob"]


@pytest.mark.django_db
def test_push_subscriptions_need_sign_in(client):
    assert client.get("/api/push/subscriptions").status_code == 401
    assert post(client, a_subscription()).status_code == 401


@pytest.mark.django_db
@pytest.mark.parametrize(("change", "field", "words"), [
    ({"keys": {"p256dh": "not base64 !", "auth": b64url(b"a" * 16)}}, "keys.p256dh", "base64url"),
    ({"keys": {"p256dh": b64url(b"\x04" + b"a" * 20), "auth": b64url(b"a" * 16)}}, "keys.p256dh", "65 bytes"),
    ({"keys": {"p256dh": b64url(b"\x04" + b"\x01" * 64), "auth": b64url(b"a" * 16)}}, "keys.p256dh", "P-256"),
    ({"keys": {"auth": b64url(b"a" * 15)}}, "keys.auth", "16 bytes"),
    ({"endpoint": "http://fcm.googleapis.com/fcm/send/abc"}, "endpoint", "https"),
    ({"endpoint": "https://push.evil.example/abc"}, "endpoint", "not a push service"),
    ({"endpoint": "https://user:pw@fcm.googleapis.com/x"}, "endpoint", "user name"),
    ({"endpoint": "ftp://fcm.googleapis.com/x"}, "endpoint", "https"),
    ({"endpoint": "https://fcm.googleapis.com/" + "a" * 1100}, "endpoint", "1024"),
])
def test_an_invalid_subscription_is_a_422_naming_the_value(alice_api, change, field, words):
    body = a_subscription()
    body["keys"] = {**body["keys"], **change.get("keys", {})}
    if "endpoint" in change:
        body["endpoint"] = change["endpoint"]
    response = post(alice_api, body)
    assert response.status_code == 422, response.content
    [error] = response.json()["errors"]
    assert error["field"] == field
    assert words in error["message"]
    assert not PushSubscription.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("endpoint", [
    "https://localhost/push/abc", "https://127.0.0.1/push/abc", "https://10.0.0.7/push/abc",
    "https://169.254.169.254/latest/meta-data", "https://[::1]/push/abc", "https://192.168.1.1:8443/x",
])
def test_an_endpoint_at_an_internal_address_is_refused_even_when_any_host_is_allowed(alice_api, settings, endpoint):
    settings.PUSH_ENDPOINT_HOSTS = ["*"]
    response = post(alice_api, a_subscription(endpoint))
    assert response.status_code == 422, response.content
    assert response.json()["errors"][0]["field"] == "endpoint"


@pytest.mark.django_db
def test_loopback_endpoints_are_allowed_only_with_the_test_switch(alice_api, settings):
    endpoint = "http://127.0.0.1:9/push/abc"
    assert post(alice_api, a_subscription(endpoint)).status_code == 422
    settings.PUSH_ALLOW_LOOPBACK = True
    assert post(alice_api, a_subscription(endpoint)).status_code == 201
    # …and still only loopback: another private address stays refused.
    assert post(alice_api, a_subscription("http://10.0.0.7/push/abc")).status_code == 422


@pytest.mark.django_db
def test_subscriptions_per_user_are_capped(alice_api, settings):
    settings.QUOTA_PUSH_SUBSCRIPTIONS_PER_USER = 2
    first = a_subscription()
    assert post(alice_api, first).status_code == 201
    assert post(alice_api, a_subscription()).status_code == 201
    refused = post(alice_api, a_subscription())
    assert refused.status_code == 403
    assert refused.json()["type"] == "/problems/quota-exceeded"
    assert post(alice_api, first).status_code == 200  # refreshing one already saved is not a new one
