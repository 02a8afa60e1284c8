"""Operators manage tasks in the admin, through the same services as every other interface."""

import pytest
from django.contrib.auth import get_user_model

from tasks_app import services
from tasks_app.models import Tag, Task

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator_client(client):
    operator = get_user_model().objects.create_superuser("operator", "op@example.com", "op-Password-1")
    client.force_login(operator)
    return client


def test_changelists_load_with_search_and_filters(operator_client, alice):
    services.task_create(user=alice, title="Quarterly report", priority="P1", tags=["work"])
    for url in ["/admin/tasks_app/task/", "/admin/tasks_app/task/?q=report", "/admin/tasks_app/task/?priority__exact=P1",
                "/admin/tasks_app/task/?completed__exact=0", "/admin/tasks_app/task/?due_at__isnull=True",
                "/admin/tasks_app/tag/", "/admin/tasks_app/apitoken/", "/admin/auth/user/"]:
        response = operator_client.get(url)
        assert response.status_code == 200, url
    assert b"Quarterly report" in operator_client.get("/admin/tasks_app/task/?q=report").content


def test_adding_a_task_in_the_admin_validates_and_sets_tags(operator_client, alice):
    work = Tag.objects.create(user=alice, name="work")
    response = operator_client.post("/admin/tasks_app/task/add/", {
        "user": alice.pk, "title": "From admin", "description": "", "priority": "P2", "tags": [work.pk],
        "due_at_0": "2027-01-10", "due_at_1": "09:00:00", "recurrence": "weekly", "reminder_minutes_before": "15",
    })
    assert response.status_code == 302, response.content.decode()[:2000]
    task = Task.objects.get(title="From admin")
    assert task.recurrence == "FREQ=WEEKLY"  # normalized by the service
    assert list(task.tags.values_list("name", flat=True)) == ["work"]


def test_admin_refuses_another_users_tag(operator_client, alice, bob):
    bobs_tag = Tag.objects.create(user=bob, name="bob-only")
    response = operator_client.post("/admin/tasks_app/task/add/", {
        "user": alice.pk, "title": "Mixed", "priority": "P3", "tags": [bobs_tag.pk]})
    assert response.status_code == 200
    assert b"belong to another user" in response.content
    assert not Task.objects.filter(title="Mixed").exists()


def test_complete_action_uses_the_service(operator_client, alice):
    task = services.task_create(user=alice, title="Close me")
    operator_client.post("/admin/tasks_app/task/", {"action": "complete_selected", "_selected_action": [task.pk]})
    task.refresh_from_db()
    assert task.completed and task.completed_at is not None


def test_event_records_are_browsable_and_filterable(operator_client, alice):

    from django.utils import timezone

    from tasks_app.models import OutboxEvent

    task = services.task_create(user=alice, title="Audited", due_at=timezone.now(), reminder_minutes_before=0)
    services.reminders_claim_due()
    event = OutboxEvent.objects.filter(task_id=task.pk).first()
    services.audit_record(event_id=event.event_id)
    for url in ["/admin/tasks_app/auditlog/", f"/admin/tasks_app/auditlog/?type=todo.task.created&user__id__exact={alice.pk}",
                f"/admin/tasks_app/auditlog/?q={task.pk}", "/admin/tasks_app/outboxevent/",
                "/admin/tasks_app/outboxevent/?published_at__isempty=1", "/admin/tasks_app/notification/",
                "/admin/tasks_app/notification/?read_at__isempty=1"]:
        response = operator_client.get(url)
        assert response.status_code == 200, url
    assert b"todo.task.created" in operator_client.get("/admin/tasks_app/auditlog/").content
    assert b"Audited" in operator_client.get("/admin/tasks_app/notification/").content
    assert operator_client.get("/admin/tasks_app/auditlog/add/").status_code == 403


def test_parked_events_are_filtered_and_retried_by_an_operator(operator_client, alice):
    from django.utils import timezone

    from tasks_app.models import OutboxEvent

    task = services.task_create(user=alice, title="Parked")
    services.task_update(task=task, title="Parked, renamed")
    parked, pending = OutboxEvent.objects.filter(task_id=task.pk).order_by("pk")
    OutboxEvent.objects.filter(pk=parked.pk).update(parked_at=timezone.now(), attempts=1,
                                                     last_error="MSG_SIZE_TOO_LARGE: payload of 1100000 bytes")
    listed = operator_client.get("/admin/tasks_app/outboxevent/?parked_at__isempty=0")
    assert listed.status_code == 200
    assert listed.context["cl"].result_count == 1 and b"MSG_SIZE_TOO_LARGE" in listed.content

    response = operator_client.post("/admin/tasks_app/outboxevent/", {
        "action": "retry_parked", "_selected_action": [parked.pk, pending.pk]})
    assert response.status_code == 302
    parked.refresh_from_db()
    assert parked.parked_at is None and parked.attempts == 0
    assert parked.last_error, "the last error stays visible until the retry"
    assert OutboxEvent.objects.filter(parked_at__isnull=False).count() == 0


def test_retrying_parked_events_needs_the_change_permission(client, alice):
    from django.contrib.auth.models import Permission
    from django.utils import timezone

    from tasks_app.models import OutboxEvent

    viewer = get_user_model().objects.create_user("viewer", password="viewer-Password-1", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_outboxevent"))
    client.force_login(viewer)
    task = services.task_create(user=alice, title="Parked")
    OutboxEvent.objects.filter(task_id=task.pk).update(parked_at=timezone.now())
    response = client.get("/admin/tasks_app/outboxevent/")
    assert response.status_code == 200 and b"retry_parked" not in response.content
    client.post("/admin/tasks_app/outboxevent/", {"action": "retry_parked",
                                                  "_selected_action": list(OutboxEvent.objects.values_list("pk", flat=True))})
    assert OutboxEvent.objects.filter(parked_at__isnull=False).exists()
