"""Every read of tasks and tags for a user.  Callers pass the user; nothing here
takes a user id from a request."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, QuerySet

from .models import Tag, Task

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200


@dataclass(frozen=True)
class TaskPage:
    items: list[Task]
    next_cursor: str | None
    count: int


def _user_tasks(user) -> QuerySet[Task]:
    return Task.objects.filter(user=user).prefetch_related("tags")


def task_get(*, user, task_id: int) -> Task:
    """The user's task; Task.DoesNotExist for a missing task or someone else's."""
    return _user_tasks(user).get(pk=task_id)


def task_list(*, user, completed: bool | None = None, limit: int = DEFAULT_PAGE_SIZE) -> TaskPage:
    tasks = _user_tasks(user)
    if completed is not None:
        tasks = tasks.filter(completed=completed)
    count = tasks.count()
    return TaskPage(items=list(tasks.order_by("-created_at", "-id")[:limit]), next_cursor=None, count=count)


def tag_list(*, user) -> QuerySet[Tag]:
    """The user's tags with `task_count`, by name."""
    return Tag.objects.filter(user=user).annotate(task_count=Count("tasks")).order_by("name")
