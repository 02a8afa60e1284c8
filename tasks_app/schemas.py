from datetime import datetime
from typing import Annotated

from ninja import Field, Schema
from pydantic import StringConstraints

from .models import MAX_REMINDER_MINUTES, TITLE_MAX_LENGTH

Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=TITLE_MAX_LENGTH)]
Minutes = Annotated[int, Field(ge=0, le=MAX_REMINDER_MINUTES)]


class TaskOut(Schema):
    id: int
    title: str
    description: str
    priority: str
    tags: list[str]
    due_at: datetime | None
    completed: bool
    completed_at: datetime | None
    recurrence: str | None
    reminder_minutes_before: int | None
    reminder_sent_at: datetime | None
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_tags(task) -> list[str]:
        return sorted((tag.name for tag in task.tags.all()), key=str.casefold)


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


class TaskPageOut(Schema):
    items: list[TaskOut]
    next_cursor: str | None
    count: int


class TagOut(Schema):
    name: str
    task_count: int


class CredentialsIn(Schema):
    username: str
    password: str


class UserOut(Schema):
    id: int
    username: str


class TokenOut(Schema):
    token: str


class ErrorOut(Schema):
    detail: str
