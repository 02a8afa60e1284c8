"""The admin's task filters keep only the matching rows (a page that merely loads proves nothing),
and its reopen action goes through the service like the complete action."""

import pytest
from django.contrib.auth import get_user_model

from tasks_app import services

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator_client(client):
    operator = get_user_model().objects.create_superuser("operator", "op@example.com", "op-Password-1")
    client.force_login(operator)
    return client


def listed(client, query: str) -> list[str]:
    response = client.get(f"/admin/tasks_app/task/?{query}")
    assert response.status_code == 200, query
    return sorted(task.title for task in response.context["cl"].result_list)


def test_each_task_filter_keeps_only_the_matching_tasks(operator_client, alice, bob):
    from datetime import datetime, timezone

    services.task_create(user=alice, title="Quarterly report", priority="P1", tags=["work"],
                         due_at=datetime(2027, 1, 1, tzinfo=timezone.utc))
    services.task_complete(task=services.task_create(user=alice, title="Done already", priority="P2"))
    services.task_create(user=bob, title="Someday", priority="P3")

    assert listed(operator_client, "") == ["Done already", "Quarterly report", "Someday"]
    assert listed(operator_client, "q=report") == ["Quarterly report"]
    assert listed(operator_client, "priority__exact=P1") == ["Quarterly report"]
    assert listed(operator_client, "completed__exact=0") == ["Quarterly report", "Someday"]
    assert listed(operator_client, "completed__exact=1") == ["Done already"]
    assert listed(operator_client, "due_at__isnull=True") == ["Done already", "Someday"]
    assert listed(operator_client, "due_at__isnull=False") == ["Quarterly report"]


def test_reopen_action_uses_the_service(operator_client, alice):
    task = services.task_complete(task=services.task_create(user=alice, title="Reopen me"))
    untouched = services.task_complete(task=services.task_create(user=alice, title="Stay done"))
    response = operator_client.post("/admin/tasks_app/task/", {"action": "reopen_selected",
                                                               "_selected_action": [task.pk]})
    assert response.status_code == 302
    task.refresh_from_db()
    untouched.refresh_from_db()
    assert not task.completed and task.completed_at is None
    assert untouched.completed
    # Through task_reopen: the change is recorded as its event, as from every other interface.
    from tasks_app.models import OutboxEvent

    assert OutboxEvent.objects.filter(task_id=task.pk, type="todo.task.reopened").count() == 1
    assert not OutboxEvent.objects.filter(task_id=untouched.pk, type="todo.task.reopened").exists()


def test_saved_lists_and_undo_history_are_shown_to_operators_read_only(operator_client, alice, bob):
    from tasks_app.models import Change
    from tasks_app.services.saved_filters import saved_filter_create

    saved_filter_create(user=alice, name="Work this week", params={"tag": ["work"]})
    saved_filter_create(user=bob, name="Bob's urgent", params={"priority": ["P1"]})
    services.task_delete(task=services.task_create(user=alice, title="Gone but undoable"))

    response = operator_client.get("/admin/tasks_app/savedfilter/?q=work")
    assert [saved.name for saved in response.context["cl"].result_list] == ["Work this week"]
    change = Change.objects.get(user=alice, kind="deleted")
    response = operator_client.get(f"/admin/tasks_app/change/?kind__exact=deleted&user__id__exact={alice.pk}")
    assert list(response.context["cl"].result_list) == [change]
    page = operator_client.get(f"/admin/tasks_app/change/{change.pk}/change/")
    assert page.status_code == 200 and "Gone but undoable" in page.content.decode()
    # Read only: no add, and the undo history cannot be deleted from the admin (an undo would skip it).
    assert operator_client.get("/admin/tasks_app/savedfilter/add/").status_code == 403
    assert operator_client.post(f"/admin/tasks_app/change/{change.pk}/delete/", {"post": "yes"}).status_code == 403
    assert Change.objects.filter(pk=change.pk).exists()
