"""GET /api/notifications and marking them read, per user."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tasks_app import services

pytestmark = pytest.mark.django_db


@pytest.fixture
def alices_reminder(alice):
    services.task_create(user=alice, title="Dentist", due_at=timezone.now() + timedelta(minutes=5),
                         reminder_minutes_before=15)
    [notification] = services.reminders_claim_due()
    return notification


def test_notifications_are_listed_and_marked_read(alice_api, alices_reminder):
    [item] = alice_api.get("/api/notifications").json()
    assert item["id"] == alices_reminder.pk
    assert item["kind"] == "reminder" and "Dentist" in item["message"] and item["read_at"] is None

    read = alice_api.post(f"/api/notifications/{item['id']}/read").json()
    assert read["read_at"] is not None
    assert alice_api.get("/api/notifications?unread=true").json() == []
    assert len(alice_api.get("/api/notifications").json()) == 1


def test_mark_all_read_counts_what_it_marked(alice_api, alices_reminder):
    assert alice_api.post("/api/notifications/read").json() == {"marked": 1}
    assert alice_api.post("/api/notifications/read").json() == {"marked": 0}


def test_notifications_are_private(bob_api, alices_reminder):
    assert bob_api.get("/api/notifications").json() == []
    assert bob_api.post(f"/api/notifications/{alices_reminder.pk}/read").status_code == 404


def test_bad_limit_is_422(alice_api):
    assert alice_api.get("/api/notifications?limit=0").status_code == 422
