"""The REST API's request and response shapes (django-ninja), also used by the MCP tools.

The task's output shape is not written here: TaskOut is derived from
tasks_app.events.TASK_FIELDS, the one definition events share.  Input schemas check
types and bounds for the API documentation; the services and selectors clean the
values again (tasks_app.cleaning), whichever surface they come from.
"""

from datetime import datetime
from typing import Annotated, Any, Literal

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from ninja import Field, Schema
from pydantic import BeforeValidator, ConfigDict, StringConstraints, create_model

from .accounts import PASSWORD_MAX_LENGTH, USERNAME_MAX_LENGTH
from .cleaning import MAX_LIST_ITEMS, RECURRENCE_INPUT_MAX_LENGTH, TAG_INPUT_MAX_LENGTH, text_problem
from .events import TASK_FIELDS, task_tag_names
from .models import MAX_REMINDER_MINUTES, MAX_SNOOZE_MINUTES, SAVED_FILTER_NAME_MAX_LENGTH, TITLE_MAX_LENGTH
from .selectors import (
    DEFAULT_PAGE_SIZE,
    DUE_WINDOWS,
    MAX_CURSOR_LENGTH,
    MAX_OCCURRENCES,
    MAX_PAGE_SIZE,
    MAX_QUERY_LENGTH,
    PLAN_DEFAULT_SIZE,
    PLAN_MAX_SIZE,
    SORTS,
)


def _storable(value: Any) -> Any:
    # Before pydantic's own string check, which reports an unpaired surrogate only as
    # "unable to parse raw data as a unicode string" (and lets one through in a plain str).
    if isinstance(value, str) and (problem := text_problem(value)):
        raise ValueError(problem)
    return value


def Text(max_length: int, *, min_length: int = 0, strip: bool = False) -> Any:  # noqa: N802 - a type
    """A string of at most `max_length` characters that PostgreSQL can store (no NUL, no unpaired
    surrogate): the bound shows in the OpenAPI and MCP schemas; tasks_app.cleaning checks again."""
    return Annotated[str, StringConstraints(strip_whitespace=strip, min_length=min_length, max_length=max_length),
                     BeforeValidator(_storable)]


Title = Text(TITLE_MAX_LENGTH, min_length=1, strip=True)
Description = Text(settings.TASK_DESCRIPTION_MAX_LENGTH)
TagName = Text(TAG_INPUT_MAX_LENGTH)
Recurrence = Text(RECURRENCE_INPUT_MAX_LENGTH)
PriorityName = Text(10)
Minutes = Annotated[int, Field(ge=0, le=MAX_REMINDER_MINUTES)]


class _TaskOutResolvers(Schema):
    @staticmethod
    def resolve_tags(task) -> list[str]:
        return task_tag_names(task)


# The task as the REST API and the MCP tools return it: the API fields of TASK_FIELDS, in order.
TASK_OUT_FIELDS = tuple(field.name for field in TASK_FIELDS if field.in_api)
TaskOut = create_model(
    "TaskOut", __base__=_TaskOutResolvers, __module__=__name__,
    **{field.name: (field.type, ...) for field in TASK_FIELDS if field.in_api},
)

# The JSON text of a date-time exactly as ninja's renderer writes it (DjangoJSONEncoder: milliseconds, Z for UTC).
_api_datetime = DjangoJSONEncoder().default


def task_out_values(task) -> dict[str, Any]:
    """`TaskOut.from_orm(task).model_dump()` read straight off the task (date-times as objects).

    ninja's from_orm resolves every attribute of every task through a Python wrapper: for a page of
    50 tasks that was a third of the list's time.  The task's attributes already have TaskOut's
    types (test_task_out_values_are_what_TaskOut_makes_of_the_task keeps the two equal)."""
    return {name: task_tag_names(task) if name == "tags" else getattr(task, name) for name in TASK_OUT_FIELDS}


def task_out_json(task) -> dict[str, Any]:
    """The task as the REST API sends it: task_out_values with date-times as ninja renders them."""
    return {name: _api_datetime(value) if isinstance(value, datetime) else value
            for name, value in task_out_values(task).items()}


class TaskCreateIn(Schema):
    title: Title
    description: Description = ""
    priority: PriorityName = Field("P3", description="P1 (critical) to P4 (low)")
    tags: list[TagName] = Field(default_factory=list, max_length=MAX_LIST_ITEMS,
                                description="At most 10 distinct; created for the user as needed")
    due_at: datetime | None = Field(None, description="ISO 8601; a time without offset is read in the user's zone")
    recurrence: Recurrence | None = Field(
        None, description="RFC 5545 RRULE (FREQ=WEEKLY;BYDAY=MO) or daily, weekly, monthly, yearly"
    )
    recurrence_from_completion: bool = Field(
        False, description="Repeat from the completion date (Todoist's every!): the next occurrence is laid out "
        "from the day the task is completed, at its due time of day, instead of from the schedule")
    reminder_minutes_before: Minutes | None = Field(None, description="Minutes before due_at; 0 to 40320")


class TaskUpdateIn(Schema):
    """Only the fields sent are changed; null clears an optional field."""

    title: Title | None = None
    description: Description | None = None
    priority: PriorityName | None = None
    tags: list[TagName] | None = Field(None, max_length=MAX_LIST_ITEMS)
    due_at: datetime | None = Field(None, description="On a recurring task, moves this occurrence only: the next "
                                    "one still follows the rule. Send `recurrence` too to move the whole series")
    recurrence: Recurrence | None = Field(None, description="Sent (even unchanged), the series starts again at "
                                          "the due date")
    recurrence_from_completion: bool | None = None
    reminder_minutes_before: Minutes | None = None


class TaskListQuery(Schema):
    """GET /api/tasks parameters; the descriptions are the API documentation (/api/docs)."""

    q: Text(MAX_QUERY_LENGTH) | None = Field(
        None,
        description='Full-text search over title, description and tag names, stemmed ("meeting" finds '
        '"meetings"). Web-search syntax: "quoted phrase", -excluded, word or other. The last word also '
        'matches as a prefix, for search as you type ("stan" finds "standup"); whole-word matches rank '
        f"first. Sorts by relevance unless `sort` is given. At most {MAX_QUERY_LENGTH} characters.",
    )
    priority: list[PriorityName] = Field(
        default_factory=list, max_length=MAX_LIST_ITEMS,
        description="Only these priorities; repeat for several: priority=P1&priority=P2",
    )
    tag: list[TagName] = Field(
        default_factory=list, max_length=MAX_LIST_ITEMS,
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
    due_window: Text(20) | None = Field(
        None, description=f"Due within a range named relative to now in your zone: one of {', '.join(DUE_WINDOWS)} "
        "(weeks start on your week_start). A saved filter with it means the week it is applied in.")
    sort: Text(20) | None = Field(
        None,
        description=f"One of {', '.join(SORTS)}. Default: relevance with q, else -created_at (newest "
        "first). priority puts P1 first; title ignores case; tasks without a due date come last in both "
        "due-date orders; -updated_at is the most recently changed first; ties are broken by id.",
    )
    cursor: Text(MAX_CURSOR_LENGTH) | None = Field(
        None, description="next_cursor from the previous page, with the same other parameters. Pages never "
        "skip or repeat a task, even while tasks are added."
    )
    limit: int = Field(DEFAULT_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE, description="Tasks per page")
    filter: Text(SAVED_FILTER_NAME_MAX_LENGTH) | None = Field(
        None, description="A saved filter's name or id (GET /api/filters): its parameters apply; any other "
        "parameter given here overrides the saved one. An unknown filter is a 404.")


# What a saved filter keeps: the list's parameters but the page position and the filter itself.
SAVED_FILTER_PARAMS = tuple(name for name in TaskListQuery.model_fields if name not in ("cursor", "filter"))


class TaskPageOut(Schema):
    items: list[TaskOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page")
    count: int = Field(description="Tasks matching the filters, over all pages")


class TagOut(Schema):
    name: str
    task_count: int


class TagRenameIn(Schema):
    name: TagName = Field(
        description="The new name. If another of your tags already has it (in any case), the two are merged."
    )


class CredentialsIn(Schema):
    username: Text(USERNAME_MAX_LENGTH)
    password: Text(PASSWORD_MAX_LENGTH)


class UserOut(Schema):
    id: int
    username: str


class ProfileOut(Schema):
    timezone: str = Field(description="IANA zone: times without an offset are read in it, recurrences laid out "
                                      "in it, pages show times in it")
    default_reminder_minutes: int | None = Field(description="Lead time of a reminder asked for without minutes "
                                                             "(\"with a reminder\" in the chat); null: at the due time")
    quiet_hours_start: str | None = Field(description="Local time (HH:MM) quiet hours start, or null")
    quiet_hours_end: str | None = Field(description="Local time (HH:MM) quiet hours end, or null")
    week_start: str = Field(description="Monday, Saturday or Sunday")
    email_reminders: bool = Field(description="Reminders are also sent by email to `email` (off by default)")

    @staticmethod
    def resolve_quiet_hours_start(profile) -> str | None:
        return None if profile.quiet_hours_start is None else profile.quiet_hours_start.strftime("%H:%M")

    @staticmethod
    def resolve_quiet_hours_end(profile) -> str | None:
        return None if profile.quiet_hours_end is None else profile.quiet_hours_end.strftime("%H:%M")

    @staticmethod
    def resolve_week_start(profile) -> str:
        return profile.get_week_start_display()


class MeOut(Schema):
    id: int
    username: str
    email: str = Field(description="Where email reminders go; empty: none given")
    profile: ProfileOut
    note: str | None = Field(None, description="After a change of time zone: what it means for your due dates")


class MePatchIn(Schema):
    """Only the fields given change; null turns an optional preference off.  The values are
    checked by the service, whose 422 names the field.  An unknown field ("time_zone", "username") is
    a 422 too: a misspelt preference must not read as saved."""

    model_config = ConfigDict(extra="forbid")

    timezone: Text(100) | None = Field(None, description="IANA zone name, e.g. Europe/Berlin")
    default_reminder_minutes: Minutes | None = None
    quiet_hours_start: Text(20) | None = Field(None, description="HH:MM local time, or null for none")
    quiet_hours_end: Text(20) | None = Field(None, description="HH:MM local time, or null for none")
    week_start: Text(20) | int | None = Field(None, description="Monday, Saturday or Sunday (or 1, 6, 7)")
    email: Text(254) | None = Field(None, description="Address for email reminders; empty or null removes it")
    email_reminders: bool | None = Field(None, description="Send reminders by email too (needs `email`)")


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


class NotificationOut(Schema):
    id: int
    kind: str
    message: str
    task_id: int | None
    due_at: datetime | None
    created_at: datetime
    read_at: datetime | None


class SnoozeIn(Schema):
    minutes: int = Field(description="Remind again this many minutes from now", ge=1, le=MAX_SNOOZE_MINUTES)


class SnoozeOut(Schema):
    notification: NotificationOut = Field(description="The notice, now marked read")
    task_id: int
    remind_at: datetime = Field(description="When the reminder fires again")


class DeliveryOut(Schema):
    """One notice on one channel, as the delivery log shows it."""

    id: int
    notification_id: int
    message: str = Field(description="The notice that was (or is to be) sent")
    channel: str = Field(description="email (push once Web Push is on)")
    status: str = Field(description="pending, sending, sent or failed")
    attempts: int
    last_error: str = Field(description="Why the last attempt failed; empty after a success")
    next_attempt_at: datetime | None = Field(description="pending: when it is tried (again)")
    sent_at: datetime | None
    created_at: datetime

    @staticmethod
    def resolve_message(delivery) -> str:
        return delivery.notification.message


class DeliveryListQuery(Schema):
    channel: Literal["email", "push"] | None = Field(None, description="Only this channel")
    status: Literal["pending", "sending", "sent", "failed"] | None = Field(None, description="Only this status")
    notification_id: int | None = Field(None, ge=1, le=2**63 - 1, description="Only this notification's deliveries")
    limit: int = Field(DEFAULT_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE)


class NotificationListQuery(Schema):
    unread: bool = Field(False, description="Only notifications not yet marked read")
    limit: int = Field(DEFAULT_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE)


UNDO_COUNT_CEILING = 100  # the schema's bound; UNDO_MAX_PER_CALL (at most this) is checked by the service


class UndoIn(Schema):
    count: int = Field(1, description="How many of your last actions to undo, newest first "
                                      "(at most UNDO_MAX_PER_CALL, 20 by default)", ge=1, le=UNDO_COUNT_CEILING)


class RevertedOut(Schema):
    change_id: int
    kind: str = Field(description="What was undone: created, updated, completed, reopened or deleted")
    task_id: int
    title: str
    now: str = Field(description="What the task is now: deleted, reopened, completed, restored or changed back")


class UndoOut(Schema):
    undone: list[RevertedOut] = Field(description="Each task change reverted, newest first")


# --------------------------------------------------------------------------- occurrences, plan, saved filters


class OccurrencesQuery(Schema):
    count: int = Field(5, ge=1, le=MAX_OCCURRENCES, description="How many upcoming occurrences")


class OccurrencesOut(Schema):
    task_id: int
    recurrence: str | None
    recurrence_text: str | None = Field(description="The rule in words, e.g. 'every 2 weeks on Tuesday'")
    timezone: str = Field(description="The zone the rule is laid out in (yours) and `occurrences` are written in")
    occurrences: list[datetime] = Field(description="This occurrence's due date first, then the next ones, in your "
                                                    "zone; empty for a one-off task")


class PlanQuery(Schema):
    limit: int = Field(PLAN_DEFAULT_SIZE, ge=1, le=PLAN_MAX_SIZE, description="How many tasks at most")


class PlanItemOut(Schema):
    rank: int = Field(description="1 is the task to do first")
    reason: str = Field(description="Why it is here, e.g. 'overdue by 2 days · P1'")
    task: TaskOut


class PlanOut(Schema):
    date: str = Field(description="Today in your zone (YYYY-MM-DD)")
    timezone: str
    items: list[PlanItemOut]


FilterName = Text(SAVED_FILTER_NAME_MAX_LENGTH, min_length=1, strip=True)


class SavedFilterIn(Schema):
    name: FilterName
    params: dict[str, Any] = Field(
        default_factory=dict, description="Any of GET /api/tasks's parameters (" + ", ".join(SAVED_FILTER_PARAMS)
        + "), checked as that endpoint checks them", json_schema_extra={"maxProperties": len(SAVED_FILTER_PARAMS)})


class SavedFilterPatchIn(Schema):
    name: FilterName | None = None
    params: dict[str, Any] | None = Field(None, description="Replaces the saved parameters",
                                          json_schema_extra={"maxProperties": len(SAVED_FILTER_PARAMS)})


class SavedFilterOut(Schema):
    id: int
    name: str
    params: dict[str, Any]
    created_at: datetime
    updated_at: datetime
