"""The service worker is served at the site root as JavaScript (or browsers refuse it); the settings
page has the push control and lists the user's own push browsers, each removable only by them."""

import pytest

from tasks_app.models import PushSubscription

from .push_service import Browser


def a_row(user, n=1) -> PushSubscription:
    data = Browser().subscription_json(f"https://fcm.googleapis.com/fcm/send/device-{user.username}-{n}")
    return PushSubscription.objects.create(user=user, endpoint=data["endpoint"], user_agent=f"Firefox of {user}",
                                           **data["keys"])


@pytest.mark.django_db
def test_the_service_worker_is_served_at_the_root_as_javascript(client):
    response = client.get("/sw.js")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/javascript")
    assert response["Service-Worker-Allowed"] == "/"
    assert response["X-Content-Type-Options"] == "nosniff"  # security headers kept
    assert response["Cache-Control"] == "no-cache"
    body = response.content.decode()
    assert 'addEventListener("push"' in body and 'addEventListener("notificationclick"' in body
    assert client.post("/sw.js").status_code == 405


@pytest.mark.django_db
def test_the_settings_page_offers_push_and_lists_only_my_browsers(client, alice, bob):
    a_row(alice)
    a_row(bob)
    client.force_login(alice)
    page = client.get("/settings/").content.decode()
    assert "Enable push notifications" in page
    assert "tasks_app/push_settings.js" in page
    assert "Firefox of alice" in page and "Firefox of bob" not in page


@pytest.mark.django_db
def test_removing_a_push_browser_from_the_settings_page_is_only_for_its_owner(client, alice, bob):
    alices = a_row(alice)
    client.force_login(bob)
    client.post(f"/settings/push/{alices.pk}/remove")
    assert PushSubscription.objects.filter(pk=alices.pk).exists()
    client.force_login(alice)
    assert client.post(f"/settings/push/{alices.pk}/remove").status_code == 302
    assert not PushSubscription.objects.filter(pk=alices.pk).exists()
