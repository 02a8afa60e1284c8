"""The REST endpoints of tasks, tags, notifications and sign-in (django-ninja routers).

Each endpoint is a thin door: it reads the request, calls a service, selector or
accounts function with the authenticated user, and returns a schema.  Domain errors
(ValidationError, DoesNotExist) become HTTP responses once, in todo_project.api.

Task responses carry an `ETag`; PATCH and DELETE honour `If-Match` (412 on a stale version),
and a created task comes with `Location` (see tasks_app.conditional).
"""


from django.conf import settings
from django.contrib.auth import authenticate
from django.db import transaction
from django.http import HttpResponse, JsonResponse
from django.urls import reverse
from ninja import Header, Query, Router, Status
from ninja.errors import HttpError
from ninja.renderers import JSONRenderer

from todo_project.problems import JSON_BODY, SIGNED_IN, SIGNED_IN_WRITE, documented

from . import accounts, conditional, selectors, services, throttling
from .auth import bearer_token
from .models import IDEMPOTENCY_KEY_MAX_LENGTH, Task
from .services.idempotency import IDEMPOTENCY_KEY_PATTERN, IDEMPOTENCY_KEY_RULE
from .schemas import (
    CredentialsIn,
    DeliveryListQuery,
    DeliveryOut,
    MeOut,
    MePatchIn,
    NotificationListQuery,
    NotificationOut,
    SnoozeIn,
    SnoozeOut,
    TagOut,
    TagRenameIn,
    TaskCreateIn,
    TaskListQuery,
    TaskOut,
    TaskPageOut,
    TaskUpdateIn,
    task_out_json,
    TokenIn,
    TokenInfoOut,
    TokenOut,
    UndoIn,
    UndoOut,
    UserOut,
    WsTicketOut,
)

IF_MATCH_DOC = ('The task\'s `ETag` as you last read it: the write is refused with 412 if the task has '
                'changed since. Optional; `*` matches any version.')

auth_router = Router(tags=["auth"])
router = Router(tags=["tasks"])


# Throttled (429 with Retry-After) is mapped in todo_project.api.
@auth_router.post("/register", response=documented({201: UserOut}, JSON_BODY, 403, 409, 429), auth=None,
                  operation_id="auth_register")
def register(request, payload: CredentialsIn):
    if not settings.ALLOW_SIGNUP:  # before counting: a closed door is not a rate-limited one
        raise HttpError(403, "sign-up is turned off on this server")
    throttling.signup_check(request, payload.username)
    try:
        user = accounts.user_register(username=payload.username, password=payload.password)
    except PermissionError as exc:
        raise HttpError(403, str(exc)) from None
    except accounts.UsernameTaken as exc:
        raise HttpError(409, str(exc)) from None
    return Status(201, user)


@auth_router.post("/token", response=documented(TokenOut, JSON_BODY, 401, 429), auth=None,
                  operation_id="auth_token_create")
def issue_token(request, payload: TokenIn):
    """A new token (shown once) for a username and password.  After THROTTLE_LOGIN_FAILURES_* wrong
    passwords for a username or from an address, 429 with Retry-After until the window ends."""
    throttling.login_check(request, payload.username)
    # A wrong password is counted by the user_login_failed receiver (tasks_app.receivers).
    user = authenticate(request, username=payload.username, password=payload.password)
    if user is None:
        raise HttpError(401, "wrong username or password")
    token, row = accounts.api_token_create(user=user, name=payload.name or "api")
    return {"token": token, "expires_at": row.expires_at}


@auth_router.delete("/token", response=documented({204: None}, SIGNED_IN), auth=bearer_token,
                    operation_id="auth_token_revoke_current")
def revoke_presented_token(request):
    """Revoke the token this request is made with (sign out a client)."""
    accounts.api_token_revoke(user=request.user, token_id=request.api_token.pk)
    return Status(204, None)


@auth_router.get("/tokens", response=documented(list[TokenInfoOut], SIGNED_IN), operation_id="auth_tokens_list")
def list_tokens(request):
    """Your API tokens, newest first: never the secret, only its first characters."""
    return accounts.api_token_list(user=request.user)


@auth_router.delete("/tokens/{int:token_id}", response=documented({204: None}, SIGNED_IN_WRITE, 404),
                    operation_id="auth_token_revoke")
def revoke_token(request, token_id: int):
    """Revoke one of your tokens; its open WebSockets are closed.  Another user's token is a 404."""
    accounts.api_token_revoke(user=request.user, token_id=token_id)
    return Status(204, None)


@auth_router.post("/ws-ticket", response=documented(WsTicketOut, SIGNED_IN_WRITE), operation_id="auth_ws_ticket_create")
def issue_ws_ticket(request):
    """A single-use ticket for /ws/tasks/?ticket=…, good for WS_TICKET_TTL_SECONDS: the long-lived
    token never goes into a URL (and its logs)."""
    ticket = accounts.ws_ticket_issue(user=request.user, token=getattr(request, "api_token", None),
                                      session_key=None if hasattr(request, "api_token") else request.session.session_key)
    return {"ticket": ticket, "expires_in": settings.WS_TICKET_TTL_SECONDS}


def _task(request, task_id: int) -> Task:
    # Task.DoesNotExist (missing, or another user's) becomes a 404 in todo_project.api.
    return selectors.task_get(user=request.user, task_id=task_id)


def _task_to_change(request, task_id: int) -> Task:
    # As _task, without its tags: the service reads the row again, locked, with them.
    return selectors.task_to_change(user=request.user, task_id=task_id)


def _task_for_write(request, task_id: int, if_match: str | None) -> Task:
    """The task to change; with If-Match, locked (call inside transaction.atomic) and checked,
    so no other write slips in between the check and this request's write."""
    if if_match is None:  # unconditional write: last one wins, as before
        return _task_to_change(request, task_id)
    conditional.task_lock_for_write(user=request.user, task_id=task_id)
    task = _task(request, task_id)
    current = conditional.task_etag(task)
    if not conditional.if_match_allows(if_match, current):
        raise HttpError(412, f"the task has changed since you read it (If-Match {if_match}, now {current}); "
                             "GET it again, reapply your change and retry")
    return task


_renderer = JSONRenderer()  # the API's renderer (todo_project.api keeps ninja's default)


def _rendered(request, data) -> HttpResponse:
    """`data`, already the response schema's JSON, rendered as ninja renders any answer, without
    validating it through the schema again (the schema stays the documented shape)."""
    return HttpResponse(_renderer.render(request, data, response_status=200),
                        content_type=f"{_renderer.media_type}; charset={_renderer.charset}")


def _task_response(request, task: Task) -> HttpResponse:
    """The task as TaskOut with its `ETag`."""
    response = _rendered(request, task_out_json(task))
    response["ETag"] = conditional.task_etag(task)
    return response


@router.get("/tasks", response=documented(TaskPageOut, SIGNED_IN, 404, 422), summary="List and search tasks",
            operation_id="tasks_list")
def list_tasks(request, query: Query[TaskListQuery]):
    """Your tasks, one page at a time: `{"items": [...], "next_cursor": "…" | null, "count": N}`.

    Every filter combines with `q` and with the others. Follow `next_cursor` (same parameters)
    for the next page. A bad value is a 422 naming the parameter. `filter` applies a saved filter
    (GET /api/filters) by name or id; parameters given beside it override its own."""
    given = {"q": query.q, "priorities": query.priority or None, "tags": query.tag or None,
             "completed": query.completed, "due_before": query.due_before, "due_after": query.due_after,
             "overdue": query.overdue, "has_due": query.has_due, "recurring": query.recurring,
             "has_reminder": query.has_reminder, "due_window": query.due_window, "sort": query.sort}
    arguments = {name: value for name, value in given.items() if value is not None}
    if query.filter is not None:
        saved = selectors.saved_filter_get(user=request.user, ref=query.filter)
        arguments = selectors.list_arguments(saved.params) | arguments
    page = selectors.task_list(user=request.user, **arguments, cursor=query.cursor, limit=query.limit,
                                rows=True)
    return _rendered(request, {"items": [task_out_json(task) for task in page.items],
                               "next_cursor": page.next_cursor, "count": page.count})


# --------------------------------------------------------------------------- idempotent writes (Idempotency-Key)

# The key, optionally in double quotes (the IETF draft's sf-string form).
IDEMPOTENCY_KEY_HEADER_PATTERN = '^"?' + IDEMPOTENCY_KEY_PATTERN[1:-1] + '"?$'
IdempotencyKeyHeader = Header(
    None, alias="Idempotency-Key", max_length=IDEMPOTENCY_KEY_MAX_LENGTH + 2, pattern=IDEMPOTENCY_KEY_HEADER_PATTERN,
    description="Optional. A key you choose per write (a UUID): a retry with the same key and body within "
                "IDEMPOTENCY_KEY_TTL_HOURS (24 h) gets the first answer again and changes nothing; the same key "
                "with another body is a 422. " + IDEMPOTENCY_KEY_RULE + ".")


def task_json(task: Task) -> dict:
    """The task as the API sends it (ninja's JSON encoder: the same date-time text as any other answer)."""
    return task_out_json(task)


def task_created_headers(request, task: Task) -> dict[str, str]:
    """`Location` and `ETag` of a task just created: stored with an idempotent answer, replayed with it."""
    return {"Location": request.build_absolute_uri(reverse("api:task-detail", kwargs={"task_id": task.pk})),
            "ETag": conditional.task_etag(task)}


def idempotent(request, key: str | None, scope: str, body, perform) -> services.Answer:
    """`perform()` under the request's Idempotency-Key (services.idempotent_write); a reused key is a 422."""
    try:
        return services.idempotent_write(user=request.user, key=key, scope=scope, request=body, perform=perform)
    except services.IdempotencyKeyReused as exc:
        raise HttpError(422, str(exc)) from None


def answered(answer: services.Answer) -> JsonResponse:
    """The answer as sent the first time (the body is already the response schema's JSON), marked
    `Idempotent-Replayed: true` when it is a replay."""
    response = JsonResponse(answer.body, status=answer.status, safe=False)
    for name, value in answer.headers.items():
        response[name] = value
    if answer.replayed:
        response["Idempotent-Replayed"] = "true"
    return response


@router.post("/tasks", response=documented({201: TaskOut}, SIGNED_IN_WRITE, JSON_BODY), operation_id="task_create")
def create_task(request, payload: TaskCreateIn,
                idempotency_key: str | None = IdempotencyKeyHeader):
    """Create a task. The response's `Location` is the new task's URL, its `ETag` the version.
    With an `Idempotency-Key`, a retry gets this same answer (`Idempotent-Replayed: true`) and no second task."""

    def perform() -> services.Answer:
        task = services.task_create(user=request.user, **payload.dict())
        return services.Answer(201, task_json(task), task_created_headers(request, task))

    answer = idempotent(request, idempotency_key, "POST /api/tasks", payload.dict(), perform)
    return answered(answer)



@router.get("/tasks/{int:task_id}", response=documented(TaskOut, SIGNED_IN, 404), url_name="task-detail",
            operation_id="task_get")
def get_task(request, task_id: int):
    return _task_response(request, _task(request, task_id))


@router.patch("/tasks/{int:task_id}", response=documented(TaskOut, SIGNED_IN_WRITE, JSON_BODY, 404, 412),
              operation_id="task_update")
def update_task(request, task_id: int, payload: TaskUpdateIn,
                if_match: str | None = Header(None, alias="If-Match", description=IF_MATCH_DOC)):
    with transaction.atomic():
        task = _task_for_write(request, task_id, if_match)
        task = services.task_update(task=task, **payload.dict(exclude_unset=True))
    return _task_response(request, task)


@router.delete("/tasks/{int:task_id}", response=documented({204: None}, SIGNED_IN_WRITE, 404, 412),
               operation_id="task_delete")
def delete_task(request, task_id: int,
                if_match: str | None = Header(None, alias="If-Match", description=IF_MATCH_DOC)):
    with transaction.atomic():
        services.task_delete(task=_task_for_write(request, task_id, if_match))
    return Status(204, None)


@router.post("/tasks/{int:task_id}/complete", response=documented(TaskOut, SIGNED_IN_WRITE, 404),
             operation_id="task_complete")
def complete_task(request, task_id: int):
    return _task_response(request, services.task_complete(task=_task_to_change(request, task_id)))


@router.post("/tasks/{int:task_id}/reopen", response=documented(TaskOut, SIGNED_IN_WRITE, 404),
             operation_id="task_reopen")
def reopen_task(request, task_id: int):
    return _task_response(request, services.task_reopen(task=_task_to_change(request, task_id)))


@router.post("/undo", response=documented(UndoOut, SIGNED_IN_WRITE, JSON_BODY, 409), operation_id="changes_undo")
def undo(request, payload: UndoIn):
    """Undo your last `count` actions (a creation, a change, a completion — with the occurrence a
    recurring task's completion spawned —, a reopening, a deletion), newest first; a bulk action or
    a chat message counts as one.  409 when there is nothing left to undo (changes are kept
    UNDO_RETENTION_DAYS), or when a task was changed since in a way undo cannot revert: then nothing
    is undone."""
    try:
        return {"undone": services.undo_last(user=request.user, count=payload.count)}
    except (services.NothingToUndo, services.UndoConflict) as exc:
        raise HttpError(409, str(exc)) from None


@router.get("/tags", response=documented(list[TagOut], SIGNED_IN), operation_id="tags_list")
def list_tags(request):
    """Your tags with the number of tasks carrying each, by name."""
    return selectors.tag_list(user=request.user)


# `path:` so that a tag name containing "/" (sent as %2F) still reaches the endpoint.
@router.patch("/tags/{path:name}", response=documented(TagOut, SIGNED_IN_WRITE, JSON_BODY, 404), operation_id="tag_rename")
def rename_tag(request, name: str, payload: TagRenameIn):
    """Rename a tag (matched in any case) on all your tasks. Renaming it to the name of another
    of your tags merges the two: every task of either ends up with the one tag."""
    tag = services.tag_rename(user=request.user, name=name, new_name=payload.name)
    return selectors.tag_get(user=request.user, name=tag.name)


@router.delete("/tags/{path:name}", response=documented({204: None}, SIGNED_IN_WRITE, 404), operation_id="tag_delete")
def delete_tag(request, name: str):
    """Remove a tag from all your tasks and delete it; the tasks themselves stay."""
    services.tag_delete(user=request.user, name=name)
    return Status(204, None)


# --------------------------------------------------------------------------- you


def _me(user, note: str | None = None) -> dict:
    return {"id": user.pk, "username": user.get_username(), "email": user.email,
            "profile": selectors.profile_get(user=user), "note": note}


@router.get("/me", response=documented(MeOut, SIGNED_IN), tags=["me"], operation_id="me_get")
def get_me(request):
    """Who you are and your preferences (time zone, default reminder lead time, quiet hours, week start,
    email address and email reminders)."""
    return _me(request.user)


@router.patch("/me", response=documented(MeOut, SIGNED_IN_WRITE, JSON_BODY), tags=["me"], operation_id="me_update")
def update_me(request, payload: MePatchIn):
    """Change some preferences; fields not given stay.  A new time zone keeps every due date's moment
    (the answer's `note` says so) and changes how times are read and shown from now on."""
    change = services.profile_update(user=request.user, **payload.dict(exclude_unset=True))
    return _me(request.user, note=change.note or None)


# --------------------------------------------------------------------------- notifications


@router.get("/notifications", response=documented(list[NotificationOut], SIGNED_IN, 422), tags=["notifications"],
            operation_id="notifications_list")
def list_notifications(request, query: Query[NotificationListQuery]):
    """Your notifications (due reminders), newest first."""
    return selectors.notification_list(user=request.user, unread_only=query.unread, limit=query.limit)


@router.get("/notifications/deliveries", response=documented(list[DeliveryOut], SIGNED_IN, 422),
            tags=["notifications"], operation_id="notification_deliveries_list")
def list_notification_deliveries(request, query: Query[DeliveryListQuery]):
    """The delivery log of your notices on other channels (email): status, attempts and the last error,
    newest first; filter by channel, status or notification."""
    return selectors.notification_delivery_list(user=request.user, channel=query.channel, status=query.status,
                                                notification_id=query.notification_id, limit=query.limit)


@router.post("/notifications/{int:notification_id}/read", response=documented(NotificationOut, SIGNED_IN_WRITE, 404),
             tags=["notifications"], operation_id="notification_mark_read")
def mark_notification_read(request, notification_id: int):
    return services.notification_mark_read(user=request.user, notification_id=notification_id)


@router.post("/notifications/{int:notification_id}/snooze", response=documented(SnoozeOut, SIGNED_IN_WRITE, JSON_BODY, 404),
             tags=["notifications"], operation_id="notification_snooze")
def snooze_notification(request, notification_id: int, payload: SnoozeIn):
    """Remind me again in `minutes` (1–1440): the notice is marked read and its task's reminder re-armed.
    Changing the task's due date or lead time drops the snooze; completing the task means it never fires.
    422 when there is nothing to re-arm (task deleted, completed, or without a reminder)."""
    notification, task = services.notification_snooze(user=request.user, notification_id=notification_id,
                                                      minutes=payload.minutes)
    return {"notification": notification, "task_id": task.pk, "remind_at": task.remind_at}


@router.post("/notifications/read", response=documented({200: dict}, SIGNED_IN_WRITE), tags=["notifications"],
             operation_id="notifications_mark_all_read")
def mark_all_notifications_read(request):
    """Mark every unread notification read; returns how many were."""
    return {"marked": services.notifications_mark_all_read(user=request.user)}
