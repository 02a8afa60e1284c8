"""The chat's REST endpoints: say something to the assistant, read back conversations; and quick add,
which reads one line with the assistant's grammar (POST /api/tasks/quick, …/quick/preview).

Each endpoint is one call into chat_app.services, chat_app.quick_add or chat_app.selectors; the
shapes are in chat_app.schemas, the user is the request's.  Quick add lives here, not in
tasks_app, because the grammar is the chat's: tasks_app never imports chat_app.
"""

from django.conf import settings
from ninja import Query, Router

from tasks_app import services as task_services
from tasks_app import throttling
from tasks_app.api import IdempotencyKeyHeader, answered, idempotent, task_created_headers, task_json
from todo_project.problems import JSON_BODY, SIGNED_IN, SIGNED_IN_WRITE, documented

from . import quick_add, selectors, services
from .schemas import ChatIn, ChatOut, ConversationDetailOut, ConversationOut, QuickAddIn, QuickAddOut, QuickAddPreviewOut

router = Router(tags=["chat"])


@router.post("/chat", response=documented(ChatOut, SIGNED_IN_WRITE, JSON_BODY, 404, 429), operation_id="chat_send")
def chat(request, payload: ChatIn):
    """Say something to the assistant; it acts on your tasks through the MCP tools and answers.
    429 with Retry-After past THROTTLE_CHAT_PER_USER or the daily language-model budget;
    403 past a conversation or message quota."""
    throttling.hit("chat", request.user.pk, settings.THROTTLE_CHAT_PER_USER, "chat messages")
    return services.chat_send(user=request.user, message=payload.message, conversation_id=payload.conversation_id)


@router.get("/chat/conversations", response=documented(list[ConversationOut], SIGNED_IN, 422),
            operation_id="conversations_list")
def list_conversations(request, limit: int = Query(50, ge=1, le=200)):
    return selectors.conversation_list(user=request.user)[:limit]


@router.get("/chat/conversations/{int:conversation_id}", response=documented(ConversationDetailOut, SIGNED_IN, 404),
            operation_id="conversation_get")
def get_conversation(request, conversation_id: int):
    # Conversation.DoesNotExist (missing, or another user's) becomes a 404 in todo_project.api.
    return selectors.conversation_get(user=request.user, conversation_id=conversation_id)


# --------------------------------------------------------------------------- quick add


@router.post("/tasks/quick", response=documented({201: QuickAddOut}, SIGNED_IN_WRITE, JSON_BODY), tags=["tasks"],
             summary="Quick add", operation_id="task_quick_add")
def quick_add_task(request, payload: QuickAddIn, idempotency_key: str | None = IdempotencyKeyHeader):
    """Create a task from one line, e.g. `{"text": "Pay rent every month #home p2 remind me 1 day before"}`,
    read as the chat reads "add …": priority (p1–p4, urgent, high priority…), #tags or "tagged a and b",
    a due date ("tomorrow 5pm", "next Friday", "on 2027-01-15"), a recurrence ("every Monday",
    "weekly") and a reminder ("remind me 30 minutes before"); the rest is the title (quote it to keep
    such words in it). Returns the task and each part understood with its span in `text`;
    `Location` and `ETag` as for POST /api/tasks, and the same `Idempotency-Key` handling.
    422 naming `text` when nothing is left for a title."""

    def perform() -> task_services.Answer:
        added = quick_add.task_quick_add(user=request.user, text=payload.text)
        body = {"task": task_json(added.task), "parts": [quick_add.part_as_data(p) for p in added.reading.parts]}
        return task_services.Answer(201, body, task_created_headers(request, added.task))

    return answered(idempotent(request, idempotency_key, "POST /api/tasks/quick", {"text": payload.text}, perform))


@router.post("/tasks/quick/preview", response=documented(QuickAddPreviewOut, SIGNED_IN_WRITE, JSON_BODY), tags=["tasks"],
             summary="Quick add: preview", operation_id="task_quick_add_preview")
def quick_add_preview(request, payload: QuickAddIn):
    """What POST /api/tasks/quick would create from `text`, without creating it (for a live preview
    as the user types): the fields, the parts with their spans, and `problem` when no task can be made
    of the text yet."""
    reading = quick_add.quick_add_read(user=request.user, text=payload.text)
    fields = {"priority": "P3", **reading.fields} if not reading.problem else {}
    return {"fields": fields, "parts": [quick_add.part_as_data(part) for part in reading.parts],
            "problem": reading.problem or None}
