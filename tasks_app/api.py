"""The REST endpoints of tasks, tags, notifications and sign-in (django-ninja routers).

Each endpoint is a thin door: it reads the request, calls a service, selector or
accounts function with the authenticated user, and returns a schema.  Domain errors
(ValidationError, DoesNotExist) become HTTP responses once, in todo_project.api.
"""

from django.contrib.auth import authenticate
from ninja import Query, Router, Status
from ninja.errors import HttpError

from . import accounts, selectors, services
from .models import Task
from .schemas import (
    CredentialsIn,
    NotificationListQuery,
    NotificationOut,
    TagOut,
    TagRenameIn,
    TaskCreateIn,
    TaskListQuery,
    TaskOut,
    TaskPageOut,
    TaskUpdateIn,
    TokenOut,
    UserOut,
)

auth_router = Router(tags=["auth"])
router = Router(tags=["tasks"])


@auth_router.post("/register", response={201: UserOut}, auth=None)
def register(request, payload: CredentialsIn):
    try:
        user = accounts.user_register(username=payload.username, password=payload.password)
    except PermissionError as exc:
        raise HttpError(403, str(exc)) from None
    except accounts.UsernameTaken as exc:
        raise HttpError(409, str(exc)) from None
    return Status(201, user)


@auth_router.post("/token", response=TokenOut, auth=None)
def issue_token(request, payload: CredentialsIn):
    user = authenticate(request, username=payload.username, password=payload.password)
    if user is None:
        raise HttpError(401, "wrong username or password")
    return {"token": accounts.api_token_issue(user=user, name="api")}


def _task(request, task_id: int) -> Task:
    # Task.DoesNotExist (missing, or another user's) becomes a 404 in todo_project.api.
    return selectors.task_get(user=request.user, task_id=task_id)


@router.get("/tasks", response=TaskPageOut, summary="List and search tasks")
def list_tasks(request, query: Query[TaskListQuery]):
    """Your tasks, one page at a time: `{"items": [...], "next_cursor": "…" | null, "count": N}`.

    Every filter combines with `q` and with the others. Follow `next_cursor` (same parameters)
    for the next page. A bad value is a 422 naming the parameter."""
    return selectors.task_list(
        user=request.user, q=query.q, priorities=query.priority or None, tags=query.tag or None,
        completed=query.completed, due_before=query.due_before, due_after=query.due_after,
        overdue=query.overdue, has_due=query.has_due, recurring=query.recurring, has_reminder=query.has_reminder,
        sort=query.sort, cursor=query.cursor, limit=query.limit,
    )


@router.post("/tasks", response={201: TaskOut})
def create_task(request, payload: TaskCreateIn):
    return Status(201, services.task_create(user=request.user, **payload.dict()))


@router.get("/tasks/{int:task_id}", response=TaskOut)
def get_task(request, task_id: int):
    return _task(request, task_id)


@router.patch("/tasks/{int:task_id}", response=TaskOut)
def update_task(request, task_id: int, payload: TaskUpdateIn):
    return services.task_update(task=_task(request, task_id), **payload.dict(exclude_unset=True))


@router.delete("/tasks/{int:task_id}", response={204: None})
def delete_task(request, task_id: int):
    services.task_delete(task=_task(request, task_id))
    return Status(204, None)


@router.post("/tasks/{int:task_id}/complete", response=TaskOut)
def complete_task(request, task_id: int):
    return services.task_complete(task=_task(request, task_id))


@router.post("/tasks/{int:task_id}/reopen", response=TaskOut)
def reopen_task(request, task_id: int):
    return services.task_reopen(task=_task(request, task_id))


@router.get("/tags", response=list[TagOut])
def list_tags(request):
    """Your tags with the number of tasks carrying each, by name."""
    return selectors.tag_list(user=request.user)


# `path:` so that a tag name containing "/" (sent as %2F) still reaches the endpoint.
@router.patch("/tags/{path:name}", response=TagOut)
def rename_tag(request, name: str, payload: TagRenameIn):
    """Rename a tag (matched in any case) on all your tasks. Renaming it to the name of another
    of your tags merges the two: every task of either ends up with the one tag."""
    tag = services.tag_rename(user=request.user, name=name, new_name=payload.name)
    return selectors.tag_get(user=request.user, name=tag.name)


@router.delete("/tags/{path:name}", response={204: None})
def delete_tag(request, name: str):
    """Remove a tag from all your tasks and delete it; the tasks themselves stay."""
    services.tag_delete(user=request.user, name=name)
    return Status(204, None)


# --------------------------------------------------------------------------- notifications


@router.get("/notifications", response=list[NotificationOut], tags=["notifications"])
def list_notifications(request, query: Query[NotificationListQuery]):
    """Your notifications (due reminders), newest first."""
    return selectors.notification_list(user=request.user, unread_only=query.unread, limit=query.limit)


@router.post("/notifications/{int:notification_id}/read", response=NotificationOut, tags=["notifications"])
def mark_notification_read(request, notification_id: int):
    return services.notification_mark_read(user=request.user, notification_id=notification_id)


@router.post("/notifications/read", response={200: dict}, tags=["notifications"])
def mark_all_notifications_read(request):
    """Mark every unread notification read; returns how many were."""
    return {"marked": services.notifications_mark_all_read(user=request.user)}
