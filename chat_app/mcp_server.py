"""The MCP tools: the one way the chat (and any MCP client) reads and changes tasks.

Each tool is a thin wrapper over tasks_app.services / tasks_app.selectors.  The
user is never a tool argument: a server is either built for one user
(`build_server(user=...)`: `manage.py mcp_stdio`, the chat's in-process
session) or, for streamable HTTP at /mcp, resolves the owner of the request's
Bearer token (the same API tokens as the REST API).

Tools are `async` and reach the ORM through `sync_to_async(thread_sensitive=True)`:
called from a Django request or command (through `async_to_sync`), the ORM work
runs on that same thread and connection; under an ASGI server it runs on the one
thread Django uses for sync code.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, Literal, TypeVar
from zoneinfo import ZoneInfo

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.db import InterfaceError, OperationalError
from django.utils import timezone as dj_timezone
from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.auth.provider import AccessToken
from mcp.server.auth.settings import AuthSettings
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import ToolAnnotations
from pydantic import BaseModel, ConfigDict, Field, create_model

from tasks_app import accounts, schemas, selectors, services, throttling
from tasks_app.cleaning import MAX_LIST_ITEMS
from tasks_app.errors import QuotaExceeded, database_error_message, error_message, not_found_message
from tasks_app.models import IDEMPOTENCY_KEY_MAX_LENGTH, MAX_REMINDER_MINUTES, MAX_SNOOZE_MINUTES
from tasks_app.models import Priority as TaskPriority
from tasks_app.services.idempotency import IDEMPOTENCY_KEY_RULE

from . import bulk_actions
from .quick_add import QUICK_ADD_MAX_LENGTH, part_as_data, task_quick_add

T = TypeVar("T")

SERVER_NAME = "todo"
INSTRUCTIONS = (
    "Tools for one person's todo list. Tasks have a title, description, priority (P1 critical … P4 low), "
    "tags, an optional due date-time, an optional recurrence (RFC 5545 RRULE such as FREQ=WEEKLY;BYDAY=MO, "
    "or daily/weekly/monthly/yearly) and an optional reminder (minutes before the due time). Find a task's id "
    "with list_tasks (use q to search by words; the last word also matches as a prefix) before changing it. "
    "list_recurring_tasks shows each repeating task with its next due date and rule in words. Times without an "
    "offset are read in the user's time zone."
)
# list_tasks answers go to a language model: a smaller default page than the REST API's.
LIST_DEFAULT_LIMIT = 20

# The vocabularies are the model's and the selectors': the tools' JSON schema lists what they accept.
Priority = Literal[tuple(TaskPriority.values)]
SortKey = Literal[selectors.SORTS]
ClearableField = Literal["description", "due_at", "recurrence", "reminder_minutes_before"]

TaskId = Annotated[int, Field(description="The task's id, as returned by add_task or list_tasks", ge=1)]
# The argument types are the REST API's (tasks_app.schemas): the same bounds, shown in the tool schemas.
TitleArg = Annotated[schemas.Title, Field(description="Short title of the task")]
DescriptionArg = Annotated[schemas.Description, Field(description="Longer notes")]
TagsArg = Annotated[list[schemas.TagName], Field(description="Tag names, e.g. ['work', 'meetings']; at most 10",
                                                 max_length=MAX_LIST_ITEMS)]
DueArg = Annotated[
    datetime | None,
    Field(description="ISO 8601 date-time, e.g. 2027-01-15T17:00; without an offset it is the user's local time"),
]
RecurrenceArg = Annotated[
    schemas.Recurrence | None,
    Field(description="RRULE body such as FREQ=WEEKLY, FREQ=WEEKLY;INTERVAL=2, FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR, "
                      "or one of daily, weekly, monthly, yearly, weekdays"),
]
FromCompletionArg = Annotated[
    bool | None,
    Field(description="Repeat from the completion date (Todoist's every!): the next occurrence is counted from "
                      "the day the task is done, at its due time of day, instead of from the schedule"),
]
ReminderArg = Annotated[
    int | None,
    Field(description="Remind this many minutes before the due time (0 = at the due time)",
          ge=0, le=MAX_REMINDER_MINUTES),
]

IdempotencyKeyArg = Annotated[
    str | None,
    Field(description="Optional key you choose for this write (a UUID): calling again with the same key and "
                      "arguments within 24 hours returns the first result and creates nothing; the same key with "
                      "other arguments is an error. " + IDEMPOTENCY_KEY_RULE,
          max_length=IDEMPOTENCY_KEY_MAX_LENGTH),
]


def _plain(schema: type[BaseModel], **annotations: Any) -> type[BaseModel]:
    """The REST API's output schema as a plain pydantic model: the tools answer in the same shape,
    and the SDK can re-validate results without ninja's ORM resolvers running on them again.
    `annotations` replace the types of nested schemas by their plain models (`task=TaskOut`)."""
    fields = {name: (annotations.get(name, info.annotation), info) for name, info in schema.model_fields.items()}
    return create_model(schema.__name__.removesuffix("Out"), **fields)


TaskOut = _plain(schemas.TaskOut)
TagOut = _plain(schemas.TagOut)
NotificationOut = _plain(schemas.NotificationOut)


class TaskList(BaseModel):
    items: list[TaskOut]
    next_cursor: str | None = Field(description="Pass as cursor to list_tasks for the next page; null on the last")
    count: int = Field(description="How many tasks match, over all pages")


class RecurringTask(BaseModel):
    id: int = Field(description="The id of the series' open occurrence (the task to change or complete)")
    title: str
    next_due_at: datetime | None = Field(description="When the open occurrence is due; null if it has no due date")
    recurrence: str = Field(description="The RRULE, e.g. FREQ=WEEKLY;BYDAY=MO")
    repeats: str = Field(description="The rule in words, e.g. 'every weekday'")


class RecurringTaskList(BaseModel):
    items: list[RecurringTask] = Field(description="Soonest due first; those without a due date last")
    next_cursor: str | None = Field(description="Pass as cursor to list_recurring_tasks for the next page")
    count: int = Field(description="How many recurring tasks are open, over all pages")


class QuickAddPart(BaseModel):
    kind: str = Field(description="title, priority, tag, due, recurrence or reminder")
    value: Any = Field(description="What it means: P2, a tag, an ISO 8601 date-time, an RRULE, minutes, the title")
    start: int = Field(description="Where it starts in the text (0-based, in Unicode code points)")
    end: int = Field(description="Where it ends (exclusive)")
    text: str = Field(description="The characters it was read from")


class QuickAdded(BaseModel):
    task: TaskOut
    parts: list[QuickAddPart] = Field(description="What was understood, in the order it was typed")


class DeletedTask(BaseModel):
    deleted: bool
    id: int
    title: str


class TagList(BaseModel):
    tags: list[TagOut]


class NotificationList(BaseModel):
    items: list[NotificationOut] = Field(description="Newest first; read_at is null while unread")


class Snoozed(BaseModel):
    notification_id: int
    task_id: int
    remind_at: datetime = Field(description="When the reminder fires again")


class TimezoneChange(BaseModel):
    timezone: str = Field(description="The user's time zone now (IANA name)")
    previous_timezone: str = Field(description="The zone before this call")
    local_time: datetime = Field(description="The current time in the new zone")
    note: str = Field(description="What the change means for due dates (empty when nothing changed)")


# --------------------------------------------------------------------------- user binding and errors


class ApiTokenVerifier:
    """Bearer tokens of /mcp are the REST API's tokens (`manage.py issue_token`, POST /api/auth/token)."""

    async def verify_token(self, token: str) -> AccessToken | None:
        user = await sync_to_async(accounts.api_token_authenticate, thread_sensitive=True)(token)
        if user is None:
            return None
        return AccessToken(token=token, client_id="api-token", subject=str(user.pk), scopes=[])


def _token_owner():
    access = get_access_token()
    if access is None or access.subject is None:
        # Unreachable behind RequireAuthMiddleware; a server without a bound user never serves anonymously.
        raise ToolError("not authenticated")
    try:
        return get_user_model().objects.get(pk=int(access.subject), is_active=True)
    except ObjectDoesNotExist:
        raise ToolError("not authenticated") from None


def _runner(resolve_user: Callable[[], Any], *, rate_limited: bool = False, change_group=None):
    """Run `work(user)` on Django's sync thread, mapping domain errors to MCP tool errors.
    `rate_limited` (the HTTP endpoint): each call counts against THROTTLE_MCP_CALLS_PER_USER;
    the chat's own session is limited per message instead (POST /api/chat, LLM_MAX_TURNS).
    `change_group` (a chat message's session): every change its calls make is one action for undo."""

    def run_sync(work: Callable[[Any], T]) -> T:
        user = resolve_user()
        try:
            if rate_limited:
                throttling.hit("mcp", user.pk, settings.THROTTLE_MCP_CALLS_PER_USER, "tool calls")
            with services.change_group(change_group):
                return work(user)
        except (throttling.Throttled, QuotaExceeded) as exc:
            raise ToolError(str(exc)) from None
        except ValidationError as exc:
            raise ToolError(f"invalid input: {error_message(exc)}") from None
        except ObjectDoesNotExist as exc:
            # A missing task and another user's task read the same: existence is not revealed.
            raise ToolError(not_found_message(exc)) from None
        except (OperationalError, InterfaceError) as exc:
            raise ToolError(database_error_message(exc)) from None

    async def run(work: Callable[[Any], T]) -> T:
        return await sync_to_async(run_sync, thread_sensitive=True)(work)

    return run


def _task_out(task) -> BaseModel:
    return TaskOut(**schemas.task_out_values(task))


def _idempotent(user, key: str | None, scope: str, request: dict, perform) -> services.Answer:
    """`perform()` once per idempotency key (tasks_app.services.idempotency); a key reused for
    another request is the tool's error."""
    try:
        return services.idempotent_write(user=user, key=key, scope=scope, request=request, perform=perform)
    except services.IdempotencyKeyReused as exc:
        raise ToolError(str(exc)) from None


def _once(user, key: str | None, tool: str, arguments: dict, model: type[BaseModel], produce) -> BaseModel:
    """`produce()` (a tool's result) at most once per idempotency key; a retry gets the first result."""
    if key is None:
        return produce()

    def perform() -> services.Answer:
        return services.Answer(200, produce().model_dump(mode="json"))

    return model(**_idempotent(user, key, f"MCP {tool}", arguments, perform).body)


# --------------------------------------------------------------------------- the server


def build_server(*, user=None, change_group=None) -> MCPServer:
    """The tools, acting as `user`; with no user, as the owner of the HTTP request's Bearer token.
    `change_group` (a UUID, with a user): the changes of every call are one action for undo."""
    if user is not None:
        bound = user
        server = MCPServer(SERVER_NAME, instructions=INSTRUCTIONS)
        run = _runner(lambda: bound, change_group=change_group)
    else:
        server = MCPServer(
            SERVER_NAME,
            instructions=INSTRUCTIONS,
            token_verifier=ApiTokenVerifier(),
            # Resource-server mode only: no OAuth endpoints are served, so the issuer URL is never used.
            auth=AuthSettings(issuer_url="http://localhost", resource_server_url=None),
        )
        run = _runner(_token_owner, rate_limited=True)

    read_only = ToolAnnotations(read_only_hint=True, open_world_hint=False)
    writes = ToolAnnotations(read_only_hint=False, destructive_hint=False, open_world_hint=False)
    idempotent_write = ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=True,
                                       open_world_hint=False)

    @server.tool(annotations=writes)
    async def add_task(
        title: TitleArg,
        description: DescriptionArg = "",
        priority: Annotated[Priority, Field(description="P1 critical, P2 high, P3 normal, P4 low")] = "P3",
        tags: TagsArg = [],  # noqa: B006 - pydantic copies defaults
        due_at: DueArg = None,
        recurrence: RecurrenceArg = None,
        recurrence_from_completion: FromCompletionArg = None,
        reminder_minutes_before: ReminderArg = None,
        idempotency_key: IdempotencyKeyArg = None,
    ) -> TaskOut:
        """Create a task. Returns the new task with its id."""
        fields = {"title": title, "description": description, "priority": priority, "tags": tags, "due_at": due_at,
                  "recurrence": recurrence, "reminder_minutes_before": reminder_minutes_before}
        if recurrence_from_completion is not None:
            fields["recurrence_from_completion"] = recurrence_from_completion

        def work(user) -> TaskOut:
            def perform() -> services.Answer:
                task = services.task_create(user=user, **fields)
                return services.Answer(201, _task_out(task).model_dump(mode="json"))

            return TaskOut(**_idempotent(user, idempotency_key, "MCP add_task", fields, perform).body)

        return await run(work)

    @server.tool(annotations=writes)
    async def quick_add(
        text: Annotated[schemas.Text(QUICK_ADD_MAX_LENGTH, min_length=1),
                        Field(description="One line describing the task, as a person would type it: "
                                          "'Pay rent every month #home p2 remind me 1 day before'")],
        idempotency_key: IdempotencyKeyArg = None,
    ) -> QuickAdded:
        """Create a task from one line, read like the chat reads 'add …': p1–p4 or urgent/high priority, #tags,
        a due date (tomorrow 5pm, next Friday), a recurrence (every Monday, weekly) and a reminder (remind me
        30 minutes before); the rest is the title. Returns the task and each part understood with its span."""

        def work(user) -> QuickAdded:
            def perform() -> services.Answer:
                added = task_quick_add(user=user, text=text)
                return services.Answer(201, {"task": _task_out(added.task).model_dump(mode="json"),
                                             "parts": [part_as_data(part) for part in added.reading.parts]})

            return QuickAdded(**_idempotent(user, idempotency_key, "MCP quick_add", {"text": text}, perform).body)

        return await run(work)

    @server.tool(annotations=read_only)
    async def list_tasks(
        q: Annotated[schemas.Text(selectors.MAX_QUERY_LENGTH) | None,
                     Field(description="Full-text search over title, description and tags; "
                                       "web-search syntax: \"exact phrase\", -exclude, or; the "
                                       "last word also matches as a prefix (stan: standup)")] = None,
        priorities: Annotated[list[Priority] | None, Field(description="Only these priorities",
                                                           max_length=MAX_LIST_ITEMS)] = None,
        tags: Annotated[list[schemas.TagName] | None, Field(description="Only tasks having all of these tags",
                                                            max_length=MAX_LIST_ITEMS)] = None,
        completed: Annotated[bool | None, Field(description="true: done tasks only; false: open only; "
                                                           "omit for both")] = None,
        due_before: Annotated[datetime | None, Field(description="Due before this ISO 8601 date-time")] = None,
        due_after: Annotated[datetime | None, Field(description="Due after this ISO 8601 date-time")] = None,
        overdue: Annotated[bool | None, Field(description="true: open tasks whose due time has passed")] = None,
        has_due: Annotated[bool | None, Field(description="true: with a due date; false: without one")] = None,
        recurring: Annotated[bool | None, Field(description="true: only recurring tasks; false: only one-off "
                                                           "tasks")] = None,
        has_reminder: Annotated[bool | None, Field(description="true: only tasks with a reminder; false: only "
                                                              "those without")] = None,
        sort: Annotated[SortKey | None, Field(description="Order; '-' means descending. due_at puts undated "
                                                         "tasks last; -updated_at is most recently changed first; "
                                                         "default newest first, or relevance with q")] = None,
        cursor: Annotated[schemas.Text(selectors.MAX_CURSOR_LENGTH) | None,
                          Field(description="next_cursor from the previous page")] = None,
        limit: Annotated[int, Field(description="Page size", ge=1, le=selectors.MAX_PAGE_SIZE)] = LIST_DEFAULT_LIMIT,
    ) -> TaskList:
        """List and search the user's tasks, with filters, sorting and cursor pagination."""

        def work(user) -> TaskList:
            page = selectors.task_list(user=user, q=q, priorities=priorities, tags=tags, completed=completed,
                                       due_before=due_before, due_after=due_after, overdue=overdue, has_due=has_due,
                                       recurring=recurring, has_reminder=has_reminder, sort=sort, cursor=cursor,
                                       limit=limit, rows=True)
            return TaskList(items=[_task_out(task) for task in page.items], next_cursor=page.next_cursor,
                            count=page.count)

        return await run(work)

    @server.tool(annotations=read_only)
    async def list_recurring_tasks(
        cursor: Annotated[str | None, Field(description="next_cursor from the previous page")] = None,
        limit: Annotated[int, Field(description="Page size", ge=1, le=selectors.MAX_PAGE_SIZE)] = LIST_DEFAULT_LIMIT,
    ) -> RecurringTaskList:
        """The user's repeating tasks: each series' open occurrence with its next due date and its rule in words,
        soonest due first. Completing one creates the next."""

        def work(user) -> RecurringTaskList:
            page = selectors.task_list(user=user, recurring=True, completed=False, sort="due_at", cursor=cursor,
                                       limit=limit, rows=True)
            return RecurringTaskList(items=[
                RecurringTask(id=task.pk, title=task.title, next_due_at=task.due_at, recurrence=task.recurrence,
                              repeats=task.recurrence_text)
                for task in page.items
            ], next_cursor=page.next_cursor, count=page.count)

        return await run(work)

    @server.tool(annotations=read_only)
    async def get_task(task_id: TaskId) -> TaskOut:
        """One task by id."""
        return await run(lambda user: _task_out(selectors.task_get(user=user, task_id=task_id)))

    @server.tool(annotations=idempotent_write)
    async def update_task(
        task_id: TaskId,
        title: Annotated[schemas.Title | None, Field(description="New title")] = None,
        description: Annotated[schemas.Description | None, Field(description="New description")] = None,
        priority: Annotated[Priority | None, Field(description="New priority")] = None,
        tags: Annotated[list[schemas.TagName] | None, Field(description="The complete new tag list (replaces the "
                                                                       "old one; [] removes all tags)",
                                                            max_length=MAX_LIST_ITEMS)] = None,
        due_at: DueArg = None,
        recurrence: RecurrenceArg = None,
        recurrence_from_completion: FromCompletionArg = None,
        reminder_minutes_before: ReminderArg = None,
        clear: Annotated[list[ClearableField], Field(description="Fields to remove, e.g. ['due_at'] to make the "
                                                                 "task undated")] = [],  # noqa: B006
        idempotency_key: IdempotencyKeyArg = None,
    ) -> TaskOut:
        """Change some fields of a task; fields not given stay as they are. A new due_at alone on a repeating task
        moves this occurrence only (the next one still follows the rule); give recurrence too to move the series."""
        changes: dict[str, Any] = {name: None for name in clear}
        given = {"title": title, "description": description, "priority": priority, "tags": tags,
                 "due_at": due_at, "recurrence": recurrence, "recurrence_from_completion": recurrence_from_completion,
                 "reminder_minutes_before": reminder_minutes_before}
        changes.update({name: value for name, value in given.items() if value is not None})
        if not changes:
            raise ToolError("nothing to change: give at least one field (or list fields in clear)")

        def work(user) -> TaskOut:
            def produce() -> TaskOut:
                task = selectors.task_get(user=user, task_id=task_id)
                return _task_out(services.task_update(task=task, **changes))

            return _once(user, idempotency_key, "update_task", {"task_id": task_id, **changes}, TaskOut, produce)

        return await run(work)

    @server.tool(annotations=idempotent_write)
    async def complete_task(task_id: TaskId, idempotency_key: IdempotencyKeyArg = None) -> TaskOut:
        """Mark a task done. A recurring task's next occurrence is then created in the background."""
        return await run(lambda user: _once(user, idempotency_key, "complete_task", {"task_id": task_id}, TaskOut,
                                            lambda: _task_out(services.task_complete(
                                                task=selectors.task_get(user=user, task_id=task_id)))))

    @server.tool(annotations=idempotent_write)
    async def reopen_task(task_id: TaskId, idempotency_key: IdempotencyKeyArg = None) -> TaskOut:
        """Mark a done task as not done."""
        return await run(lambda user: _once(user, idempotency_key, "reopen_task", {"task_id": task_id}, TaskOut,
                                            lambda: _task_out(services.task_reopen(
                                                task=selectors.task_get(user=user, task_id=task_id)))))

    @server.tool(annotations=ToolAnnotations(read_only_hint=False, destructive_hint=True, idempotent_hint=False,
                                             open_world_hint=False))
    async def delete_task(task_id: TaskId, idempotency_key: IdempotencyKeyArg = None) -> DeletedTask:
        """Delete a task for good. With an idempotency_key, a retry gets the first result, not an error."""

        def work(user) -> DeletedTask:
            def produce() -> DeletedTask:
                task = selectors.task_get(user=user, task_id=task_id)
                services.task_delete(task=task)
                return DeletedTask(deleted=True, id=task_id, title=task.title)

            return _once(user, idempotency_key, "delete_task", {"task_id": task_id}, DeletedTask, produce)

        return await run(work)

    @server.tool(annotations=read_only)
    async def list_tags() -> TagList:
        """The user's tags with how many tasks carry each."""
        return await run(lambda user: TagList(tags=[TagOut(**schemas.TagOut.from_orm(tag).model_dump())
                                                    for tag in selectors.tag_list(user=user)]))

    @server.tool(annotations=read_only)
    async def list_notifications(
        unread_only: Annotated[bool, Field(description="Only notifications not yet read")] = False,
        limit: Annotated[int, Field(description="At most this many, newest first", ge=1, le=200)] = 20,
    ) -> NotificationList:
        """The user's notifications (reminders that came due), newest first."""

        return await run(lambda user: NotificationList(items=[
            NotificationOut(**schemas.NotificationOut.from_orm(notification).model_dump())
            for notification in selectors.notification_list(user=user, unread_only=unread_only, limit=limit)
        ]))

    @server.tool(annotations=writes)
    async def snooze_notification(
        notification_id: Annotated[int, Field(description="The reminder's notification id (list_notifications)",
                                              ge=1)],
        minutes: Annotated[int, Field(description="Remind again this many minutes from now",
                                      ge=1, le=MAX_SNOOZE_MINUTES)] = 10,
        idempotency_key: IdempotencyKeyArg = None,
    ) -> Snoozed:
        """Snooze a reminder: its notification is marked read and the task's reminder fires again later.
        Fails when the task was deleted or completed, or no longer has a reminder."""

        def work(user) -> Snoozed:
            def produce() -> Snoozed:
                notification, task = services.notification_snooze(user=user, notification_id=notification_id,
                                                                  minutes=minutes)
                return Snoozed(notification_id=notification.pk, task_id=task.pk, remind_at=task.remind_at)

            return _once(user, idempotency_key, "snooze_notification",
                         {"notification_id": notification_id, "minutes": minutes}, Snoozed, produce)

        return await run(work)

    @server.tool(annotations=idempotent_write)
    async def set_timezone(
        timezone: Annotated[schemas.Text(100), Field(description="IANA time zone name, e.g. Europe/Berlin, "
                                                             "America/New_York, Asia/Tokyo or UTC")],
        idempotency_key: IdempotencyKeyArg = None,
    ) -> TimezoneChange:
        """Change the user's time zone (e.g. when they say they are now in another city). Due dates keep their
        moment in time; times without an offset are read in the new zone from now on, and repeating tasks keep
        their local time in it."""

        def work(user) -> TimezoneChange:
            def produce() -> TimezoneChange:
                change = services.profile_update(user=user, timezone=timezone)
                zone = change.profile.timezone
                return TimezoneChange(timezone=zone, previous_timezone=change.previous_timezone,
                                      local_time=dj_timezone.localtime(dj_timezone.now(), ZoneInfo(zone)),
                                      note=change.note)

            return _once(user, idempotency_key, "set_timezone", {"timezone": timezone}, TimezoneChange, produce)

        return await run(work)

    _undo_and_bulk_tools(server, run)
    from . import mcp_planning  # occurrences, plan for today, saved filters

    mcp_planning.register(server, run)
    return server


# --------------------------------------------------------------------------- undo and bulk actions


Reverted = _plain(schemas.RevertedOut)
UndoResult = _plain(schemas.UndoOut, undone=list[Reverted])


class TaskFilter(BaseModel):
    """Which tasks a bulk tool acts on: list_tasks' filters (all must hold), or task_ids."""

    model_config = ConfigDict(extra="forbid")
    q: Annotated[schemas.Text(selectors.MAX_QUERY_LENGTH) | None,
                 Field(description="Full-text search over title, description and tags")] = None
    priorities: Annotated[list[Priority] | None, Field(max_length=MAX_LIST_ITEMS)] = None
    tags: Annotated[list[schemas.TagName] | None, Field(description="Tasks having all of these tags",
                                                        max_length=MAX_LIST_ITEMS)] = None
    completed: bool | None = None
    due_before: datetime | None = None
    due_after: datetime | None = None
    overdue: bool | None = None
    has_due: bool | None = None
    recurring: bool | None = None
    has_reminder: bool | None = None
    task_ids: Annotated[list[Annotated[int, Field(ge=1)]] | None,
                        Field(description="Exactly these tasks (not with other filters)",
                              max_length=selectors.MAX_PAGE_SIZE)] = None


class BulkItemOut(BaseModel):
    id: int
    title: str
    updated_at: datetime | None = Field(None, description="The version previewed (previews only)")
    status: Literal["done", "skipped", "previewed"]
    reason: str = Field("", description="Why a task was skipped")


class BulkResult(BaseModel):
    action: Literal["complete", "delete", "update"]
    status: Literal["done", "dry_run", "needs_confirmation"]
    matched: int = Field(description="How many tasks the filter (or the confirmation) names")
    items: list[BulkItemOut] = Field(description="Per task: done, skipped (with the reason) or previewed")
    confirmation: str | None = Field(None, description="Previews only: pass as confirm to carry out exactly "
                                                       "these tasks (those changed meanwhile are skipped)")
    note: str = ""


ConfirmArg = Annotated[str | None, Field(description="The confirmation of an earlier preview (dry_run, or a call "
                                                     "that matched more than a few tasks): acts on exactly the "
                                                     "previewed tasks; the filter is then not needed",
                                         max_length=bulk_actions.CONFIRMATION_MAX_LENGTH)]
DryRunArg = Annotated[bool, Field(description="true: only list what would be done (with a confirmation)")]
FilterArg = Annotated[TaskFilter | None, Field(description="Which tasks: list_tasks' filters (all must hold) or "
                                                           "task_ids; required unless confirm is given, never empty")]


def _undo_and_bulk_tools(server: MCPServer, run) -> None:
    destructive = ToolAnnotations(read_only_hint=False, destructive_hint=True, idempotent_hint=False,
                                  open_world_hint=False)

    @server.tool(annotations=destructive)
    async def undo(count: Annotated[int, Field(description="How many of the user's last actions to undo "
                                                           "(a chat message or a bulk call is one)",
                                               ge=1, le=schemas.UNDO_COUNT_CEILING)] = 1) -> UndoResult:
        """Undo the user's last action(s): a created task is deleted, a change put back, a completion reopened
        (a recurring task's spawned next occurrence goes with it), a deleted task restored. Fails, undoing
        nothing, when there is nothing left to undo or a task changed since in a way undo cannot revert."""

        def work(user) -> UndoResult:
            try:
                return UndoResult(undone=[Reverted(**vars(item)) for item in services.undo_last(user=user,
                                                                                                count=count)])
            except (services.NothingToUndo, services.UndoConflict) as exc:
                raise ToolError(str(exc)) from None

        return await run(work)

    async def bulk(action: str, filter: TaskFilter | None, dry_run: bool, confirm: str | None,
                   changes: dict[str, Any] | None = None) -> BulkResult:
        def work(user) -> BulkResult:
            try:
                return BulkResult(**bulk_actions.bulk_call(user=user, action=action, filters=_filters(filter),
                                                         dry_run=dry_run, confirm=confirm, changes=changes))
            except bulk_actions.BulkRefused as exc:
                raise ToolError(str(exc)) from None

        return await run(work)

    @server.tool(annotations=destructive)
    async def bulk_complete(filter: FilterArg = None, dry_run: DryRunArg = False,
                            confirm: ConfirmArg = None) -> BulkResult:
        """Complete every task the filter matches (list_tasks' filters; an empty filter is refused). More than a
        few tasks, or dry_run: nothing is done, the tasks are listed with a confirmation to pass back as confirm.
        Reports each task's result."""
        return await bulk("complete", filter, dry_run, confirm)

    @server.tool(annotations=destructive)
    async def bulk_delete(filter: FilterArg = None, dry_run: DryRunArg = False,
                          confirm: ConfirmArg = None) -> BulkResult:
        """Delete every task the filter matches (an empty filter is refused). More than a few tasks, or dry_run:
        nothing is deleted, the tasks are listed with a confirmation to pass back as confirm. Undo brings them
        back."""
        return await bulk("delete", filter, dry_run, confirm)

    @server.tool(annotations=destructive)
    async def bulk_update(
        filter: FilterArg = None,
        priority: Annotated[Priority | None, Field(description="New priority")] = None,
        tags: Annotated[list[schemas.TagName] | None, Field(description="The complete new tag list",
                                                            max_length=MAX_LIST_ITEMS)] = None,
        due_at: DueArg = None,
        reminder_minutes_before: ReminderArg = None,
        clear: Annotated[list[ClearableField], Field(description="Fields to remove")] = [],  # noqa: B006
        dry_run: DryRunArg = False,
        confirm: ConfirmArg = None,
    ) -> BulkResult:
        """Change the same fields of every task the filter matches (an empty filter is refused). More than a few
        tasks, or dry_run: nothing is changed, the tasks are listed with a confirmation to pass back as confirm
        (the changes travel with it)."""
        changes: dict[str, Any] = {name: None for name in clear}
        given = {"priority": priority, "tags": tags, "due_at": due_at,
                 "reminder_minutes_before": reminder_minutes_before}
        changes.update({name: value for name, value in given.items() if value is not None})
        if not changes and confirm is None:
            raise ToolError("nothing to change: give at least one field (or list fields in clear)")
        return await bulk("update", filter, dry_run, confirm, changes)


def _filters(filter: TaskFilter | None) -> dict[str, Any]:
    return {} if filter is None else filter.model_dump(exclude_none=True)
