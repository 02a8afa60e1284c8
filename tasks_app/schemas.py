"""The REST API's request and response shapes (django-ninja), also used by the MCP tools.

The task's output shape is not written here: TaskOut is derived from
tasks_app.events.TASK_FIELDS, the one definition events share.  Input schemas check
types and bounds for the API documentation; the services and selectors clean the
values again (tasks_app.cleaning), whichever surface they come from.
"""

from datetime import datetime
from typing import Annotated

from ninja import Field, Schema
from pydantic import StringConstraints, create_model

from .events import TASK_FIELDS, task_tag_names
from .models import MAX_REMINDER_MINUTES, TITLE_MAX_LENGTH
from .selectors import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, MAX_QUERY_LENGTH, SORTS

Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=TITLE_MAX_LENGTH)]
Minutes = Annotated[int, Field(ge=0, le=MAX_REMINDER_MINUTES)]


class _TaskOutResolvers(Schema):
    @staticmethod
    def resolve_tags(task) -> list[str]:
        return task_tag_names(task)


# The task as the REST API and the MCP tools return it: the API fields of TASK_FIELDS, in order.
TaskOut = create_model(
    "TaskOut", __base__=_TaskOutResolvers, __module__=__name__,
    **{field.name: (field.type, ...) for field in TASK_FIELDS if field.in_api},
)


class TaskCreateIn(Schema):
    title: Title
    description: str = ""
    priority: str = Field("P3", description="P1 (critical) to P4 (low)")
    tags: list[str] = Field(default_factory=list, description="At most 10; created for the user as needed")
    due_at: datetime | None = Field(None, description="ISO 8601; a time without offset is read in the user's zone")
    recurrence: str | None = Field(
        None, description="RFC 5545 RRULE (FREQ=WEEKLY;BYDAY=MO) or daily, weekly, monthly, yearly"
    )
    reminder_minutes_before: Minutes | None = Field(None, description="Minutes before due_at; 0 to 40320")


class TaskUpdateIn(Schema):
    """Only the fields sent are changed; null clears an optional field."""

    title: Title | None = None
    description: str | None = None
    priority: str | None = None
    tags: list[str] | None = None
    due_at: datetime | None = None
    recurrence: str | None = None
    reminder_minutes_before: Minutes | None = None


class TaskListQuery(Schema):
    """GET /api/tasks parameters; the descriptions are the API documentation (/api/docs)."""

    q: str | None = Field(
        None,
        description='Full-text search over title, description and tag names, stemmed ("meeting" finds '
        '"meetings"). Web-search syntax: "quoted phrase", -excluded, word or other. The last word also '
        'matches as a prefix, for search as you type ("stan" finds "standup"); whole-word matches rank '
        f"first. Sorts by relevance unless `sort` is given. At most {MAX_QUERY_LENGTH} characters.",
    )
    priority: list[str] = Field(
        default_factory=list, description="Only these priorities; repeat for several: priority=P1&priority=P2"
    )
    tag: list[str] = Field(
        default_factory=list,
        description="Only tasks carrying every one of these tags (case-insensitive): tag=work&tag=urgent",
    )
    completed: bool | None = Field(None, description="true: only completed tasks; false: only open ones")
    due_before: datetime | None = Field(
        None, description="Due strictly before this ISO 8601 date-time (a time without offset is in the "
        "user's zone). Tasks without a due date never match."
    )
    due_after: datetime | None = Field(
        None, description="Due at or after this ISO 8601 date-time; with due_before, a half-open range."
    )
    overdue: bool | None = Field(None, description="true: open tasks whose due date has passed; false: the others")
    has_due: bool | None = Field(None, description="true: only tasks with a due date; false: only those without")
    recurring: bool | None = Field(None, description="true: only recurring tasks; false: only one-off tasks")
    has_reminder: bool | None = Field(None, description="true: only tasks with a reminder; false: only those without")
    sort: str | None = Field(
        None,
        description=f"One of {', '.join(SORTS)}. Default: relevance with q, else -created_at (newest "
        "first). priority puts P1 first; title ignores case; tasks without a due date come last in both "
        "due-date orders; -updated_at is the most recently changed first; ties are broken by id.",
    )
    cursor: str | None = Field(
        None, description="next_cursor from the previous page, with the same other parameters. Pages never "
        "skip or repeat a task, even while tasks are added."
    )
    limit: int = Field(DEFAULT_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE, description="Tasks per page")


class TaskPageOut(Schema):
    items: list[TaskOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page")
    count: int = Field(description="Tasks matching the filters, over all pages")


class TagOut(Schema):
    name: str
    task_count: int


class TagRenameIn(Schema):
    name: str = Field(
        description="The new name. If another of your tags already has it (in any case), the two are merged."
    )


class CredentialsIn(Schema):
    username: str
    password: str


class UserOut(Schema):
    id: int
    username: str


class TokenIn(CredentialsIn):
    name: str = Field("", max_length=100, description="A label to tell your tokens apart, e.g. 'laptop'")


class TokenOut(Schema):
    token: str
    expires_at: datetime


class TokenInfoOut(Schema):
    """A token as listed: never the secret, only its first characters."""

    id: int
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime


class WsTicketOut(Schema):
    ticket: str = Field(description="Connect within expires_in seconds to /ws/tasks/?ticket=<ticket>; good once")
    expires_in: int


class ErrorOut(Schema):
    detail: str


class NotificationOut(Schema):
    id: int
    kind: str
    message: str
    task_id: int | None
    due_at: datetime | None
    created_at: datetime
    read_at: datetime | None


class NotificationListQuery(Schema):
    unread: bool = Field(False, description="Only notifications not yet marked read")
    limit: int = Field(DEFAULT_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE)
