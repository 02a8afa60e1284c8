"""Every event becomes one AuditLog row and one JSON log line, whatever the redeliveries."""

import json
import logging

import pytest

from tasks_app import services
from tasks_app.models import AuditLog, OutboxEvent

pytestmark = pytest.mark.django_db


def test_audit_is_recorded_once_with_a_json_log_line(alice, caplog):
    task = services.task_create(user=alice, title="Audit me")
    services.task_update(task=task, priority="P1")
    update = OutboxEvent.objects.get(type="todo.task.updated")
    with caplog.at_level(logging.INFO, logger="todo.audit"):
        first = services.audit_record(event_id=update.event_id)
        second = services.audit_record(event_id=update.event_id)
    assert first == second
    assert AuditLog.objects.count() == 1
    assert (first.type, first.user, first.task_id) == ("todo.task.updated", alice, task.pk)
    assert first.data["changes"] == {"priority": {"old": "P3", "new": "P1"}}
    [line] = [record.getMessage() for record in caplog.records if record.name == "todo.audit"]
    logged = json.loads(line)
    assert logged["event_id"] == str(update.event_id) and logged["changes"] == ["priority"]


def test_audit_of_an_unknown_event_records_nothing():
    import uuid

    assert services.audit_record(event_id=uuid.uuid4()) is None
    assert not AuditLog.objects.exists()
