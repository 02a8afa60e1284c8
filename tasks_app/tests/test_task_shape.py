"""A task has one public shape: the REST API shows it, events carry it plus the links between rows."""

import pytest

from tasks_app import events, services
from tasks_app.models import OutboxEvent

pytestmark = pytest.mark.django_db


def test_the_api_and_the_events_show_the_same_fields_with_the_same_values(alice, alice_api):
    task = services.task_create(user=alice, title="Plan", tags=["work", "Home"], recurrence="weekly")
    shown = alice_api.get(f"/api/tasks/{task.pk}").json()
    carried = OutboxEvent.objects.get(task_id=task.pk, type=events.TASK_CREATED).payload["data"]["task"]
    snapshot = events.task_snapshot(task)
    assert snapshot == carried  # (the stored payload is jsonb, which keeps no key order)
    assert list(shown) == [name for name in snapshot if name not in ("user_id", "previous_occurrence_id")]
    for name, value in shown.items():
        if not name.endswith("_at"):  # date-times: the API writes Z, events +00:00
            assert carried[name] == value, name
    assert carried["tags"] == ["Home", "work"]
