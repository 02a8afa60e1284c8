"""REST endpoints for reading a day and a series: a task's upcoming occurrences, the plan for today
(what to do next) and saved filters.  Thin doors over tasks_app.selectors / services, like
tasks_app.api; errors become problem details in todo_project.api."""

from django.utils import timezone
from ninja import Query, Router, Status

from todo_project.problems import JSON_BODY, SIGNED_IN, SIGNED_IN_WRITE, documented

from . import selectors, services
from .cleaning import user_timezone
from .schemas import (
    OccurrencesOut,
    OccurrencesQuery,
    PlanOut,
    PlanQuery,
    SavedFilterIn,
    SavedFilterOut,
    SavedFilterPatchIn,
)

router = Router(tags=["planning"])


@router.get("/tasks/{int:task_id}/occurrences", response=documented(OccurrencesOut, SIGNED_IN, 404, 422),
            operation_id="task_occurrences_list")
def list_occurrences(request, task_id: int, query: Query[OccurrencesQuery]):
    """A recurring task's upcoming occurrences (at most 50), its own due date first, in your zone; the
    rule in words as `recurrence_text`.  A one-off task has none."""
    task, moments = selectors.task_occurrences(user=request.user, task_id=task_id, count=query.count)
    zone = user_timezone(request.user)
    return {"task_id": task.pk, "recurrence": task.recurrence, "recurrence_text": task.recurrence_text,
            "timezone": str(zone), "occurrences": [moment.astimezone(zone) for moment in moments]}


@router.get("/plan/today", response=documented(PlanOut, SIGNED_IN, 422), operation_id="plan_today")
def plan_today(request, query: Query[PlanQuery]):
    """What to do next: open tasks ranked by how overdue they are, their due time today, priority and age,
    each with a one-line reason ("overdue by 2 days · P1")."""
    zone = user_timezone(request.user)
    items = selectors.plan_today(user=request.user, limit=query.limit)
    return {"date": timezone.now().astimezone(zone).date().isoformat(), "timezone": str(zone),
            "items": [{"rank": rank, "reason": item.reason, "task": item.task}
                      for rank, item in enumerate(items, start=1)]}


@router.get("/filters", response=documented(list[SavedFilterOut], SIGNED_IN), tags=["filters"],
            operation_id="saved_filters_list")
def list_filters(request):
    """Your saved filters, by name.  Apply one with GET /api/tasks?filter=<name or id>."""
    return selectors.saved_filter_list(user=request.user)


@router.post("/filters", response=documented({201: SavedFilterOut}, SIGNED_IN_WRITE, JSON_BODY), tags=["filters"],
             operation_id="saved_filter_create")
def create_filter(request, payload: SavedFilterIn):
    """Save a list's parameters under a name (unique per user, in any case; at most 50 filters).  The
    parameters are checked as GET /api/tasks checks them: a bad one is a 422 naming it."""
    return Status(201, services.saved_filter_create(user=request.user, name=payload.name, params=payload.params))


@router.get("/filters/{int:filter_id}", response=documented(SavedFilterOut, SIGNED_IN, 404), tags=["filters"],
            operation_id="saved_filter_get")
def get_filter(request, filter_id: int):
    return selectors.saved_filter_get(user=request.user, ref=filter_id)


@router.patch("/filters/{int:filter_id}", response=documented(SavedFilterOut, SIGNED_IN_WRITE, JSON_BODY, 404),
              tags=["filters"], operation_id="saved_filter_update")
def update_filter(request, filter_id: int, payload: SavedFilterPatchIn):
    """Rename a filter or replace its parameters."""
    saved = selectors.saved_filter_get(user=request.user, ref=filter_id)
    return services.saved_filter_update(saved=saved, **payload.dict(exclude_unset=True, exclude_none=True))


@router.delete("/filters/{int:filter_id}", response=documented({204: None}, SIGNED_IN_WRITE, 404), tags=["filters"],
               operation_id="saved_filter_delete")
def delete_filter(request, filter_id: int):
    services.saved_filter_delete(saved=selectors.saved_filter_get(user=request.user, ref=filter_id))
    return Status(204, None)
