"""The MCP tools for planning: a series' upcoming occurrences, what to do next today, and saved filters.

Registered on the server by chat_app.mcp_server.build_server (one call), kept apart from the task
tools: thin wrappers over tasks_app.selectors / services, acting as the server's bound user.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from django.utils import timezone
from mcp_types import ToolAnnotations
from pydantic import BaseModel, Field

from tasks_app import schemas, selectors, services
from tasks_app.cleaning import user_timezone
from tasks_app.models import SAVED_FILTER_NAME_MAX_LENGTH

# build_server imports this module when it runs, once mcp_server is loaded.
from .mcp_server import LIST_DEFAULT_LIMIT, TaskList, TaskOut, _plain, _task_out


class Occurrences(BaseModel):
    task_id: int
    title: str
    recurrence: str | None
    recurrence_text: str | None = Field(description="The rule in words, e.g. 'every 2 weeks on Tuesday'")
    timezone: str = Field(description="The user's zone; occurrences are local times in it")
    occurrences: list[datetime] = Field(description="This occurrence's due date first, then the next ones")


PlanItem = _plain(schemas.PlanItemOut, task=TaskOut)
Plan = _plain(schemas.PlanOut, items=list[PlanItem])


class SavedFilterInfo(BaseModel):
    id: int
    name: str
    params: dict[str, Any] = Field(description="The list parameters it applies (list_tasks' REST names)")


class SavedFilterList(BaseModel):
    filters: list[SavedFilterInfo]


FilterName = Annotated[schemas.Text(SAVED_FILTER_NAME_MAX_LENGTH, min_length=1),
                       Field(description="The saved filter's name (any case) or id")]


def _info(saved) -> SavedFilterInfo:
    return SavedFilterInfo(id=saved.pk, name=saved.name, params=saved.params)


def register(server, run) -> None:
    """Add the planning tools to `server`; `run` is build_server's runner (user binding, error mapping)."""
    read_only = ToolAnnotations(read_only_hint=True, open_world_hint=False)
    writes = ToolAnnotations(read_only_hint=False, destructive_hint=False, open_world_hint=False)

    @server.tool(annotations=read_only)
    async def list_occurrences(
        task_id: Annotated[int, Field(description="The recurring task's id", ge=1)],
        count: Annotated[int, Field(description="How many", ge=1, le=selectors.MAX_OCCURRENCES)] = 5,
    ) -> Occurrences:
        """When a repeating task comes next: its upcoming occurrences in the user's zone and its rule in words."""

        def work(user) -> Occurrences:
            task, moments = selectors.task_occurrences(user=user, task_id=task_id, count=count)
            zone = user_timezone(user)
            return Occurrences(task_id=task.pk, title=task.title, recurrence=task.recurrence,
                               recurrence_text=task.recurrence_text, timezone=str(zone),
                               occurrences=[moment.astimezone(zone) for moment in moments])

        return await run(work)

    @server.tool(annotations=read_only)
    async def plan_today(
        limit: Annotated[int, Field(description="How many tasks at most", ge=1, le=selectors.PLAN_MAX_SIZE)]
        = selectors.PLAN_DEFAULT_SIZE,
    ) -> Plan:
        """What to do next: open tasks ranked by overdue-ness, due time today, priority and age, each with a
        one-line reason ('overdue by 2 days · P1')."""

        def work(user):
            zone = user_timezone(user)
            items = selectors.plan_today(user=user, limit=limit)
            return Plan(date=timezone.now().astimezone(zone).date().isoformat(), timezone=str(zone),
                        items=[PlanItem(rank=rank, reason=item.reason, task=_task_out(item.task))
                               for rank, item in enumerate(items, start=1)])

        return await run(work)

    @server.tool(annotations=read_only)
    async def list_saved_filters() -> SavedFilterList:
        """The user's saved filters (named lists), by name."""
        return await run(lambda user: SavedFilterList(filters=[_info(saved) for saved in
                                                               selectors.saved_filter_list(user=user)]))

    @server.tool(annotations=writes)
    async def save_filter(
        name: Annotated[schemas.Text(SAVED_FILTER_NAME_MAX_LENGTH, min_length=1),
                        Field(description="A name for the list, unique for the user")],
        params: Annotated[dict[str, Any], Field(description="List parameters with GET /api/tasks's names: q, "
                                                             "priority (list), tag (list), completed, due_before, "
                                                             "due_after, due_window (today, tomorrow, this_week, "
                                                             "next_week, next_7_days), overdue, has_due, recurring, "
                                                             "has_reminder, sort, limit")],
    ) -> SavedFilterInfo:
        """Save a list under a name, to show it again later with show_saved_filter."""
        return await run(lambda user: _info(services.saved_filter_create(user=user, name=name, params=params)))

    @server.tool(annotations=read_only)
    async def show_saved_filter(
        name: FilterName,
        cursor: Annotated[schemas.Text(selectors.MAX_CURSOR_LENGTH) | None,
                          Field(description="next_cursor from the previous page")] = None,
        limit: Annotated[int | None, Field(description="Page size (default: the filter's own)", ge=1,
                                           le=selectors.MAX_PAGE_SIZE)] = None,
    ) -> TaskList:
        """The tasks a saved filter lists, one page at a time."""

        def work(user):
            saved = selectors.saved_filter_get(user=user, ref=name)
            arguments = selectors.list_arguments(saved.params)
            if limit is not None:
                arguments["limit"] = limit
            arguments.setdefault("limit", LIST_DEFAULT_LIMIT)
            page = selectors.task_list(user=user, **arguments, cursor=cursor, rows=True)
            return TaskList(items=[_task_out(task) for task in page.items], next_cursor=page.next_cursor,
                            count=page.count)

        return await run(work)
