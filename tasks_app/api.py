from django.contrib.auth import authenticate
from ninja import Query, Router, Schema, Status
from ninja.errors import HttpError
from pydantic import Field

from . import selectors, services
from .models import Task
from .schemas import CredentialsIn, TagOut, TaskCreateIn, TaskOut, TaskPageOut, TaskUpdateIn, TokenOut, UserOut

auth_router = Router(tags=["auth"])
router = Router(tags=["tasks"])


@auth_router.post("/register", response={201: UserOut}, auth=None)
def register(request, payload: CredentialsIn):
    try:
        user = services.user_register(username=payload.username, password=payload.password)
    except PermissionError as exc:
        raise HttpError(403, str(exc)) from None
    except services.UsernameTaken as exc:
        raise HttpError(409, str(exc)) from None
    return Status(201, user)


@auth_router.post("/token", response=TokenOut, auth=None)
def issue_token(request, payload: CredentialsIn):
    user = authenticate(request, username=payload.username, password=payload.password)
    if user is None:
        raise HttpError(401, "wrong username or password")
    return {"token": services.api_token_issue(user=user, name="api")}


def _task(request, task_id: int) -> Task:
    # Task.DoesNotExist (missing, or another user's) becomes a 404 in todo_project.api.
    return selectors.task_get(user=request.user, task_id=task_id)


class TaskListQuery(Schema):
    completed: bool | None = None
    limit: int = Field(selectors.DEFAULT_PAGE_SIZE, ge=1, le=selectors.MAX_PAGE_SIZE)


@router.get("/tasks", response=TaskPageOut)
def list_tasks(request, query: Query[TaskListQuery]):
    return selectors.task_list(user=request.user, completed=query.completed, limit=query.limit)


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
    return selectors.tag_list(user=request.user)
