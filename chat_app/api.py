"""The chat's REST endpoints: say something to the assistant, read back conversations.

Each endpoint is one call into chat_app.services or chat_app.selectors; the
shapes are in chat_app.schemas, the user is the request's.
"""

from django.conf import settings
from ninja import Query, Router

from tasks_app import throttling
from todo_project.problems import JSON_BODY, SIGNED_IN, SIGNED_IN_WRITE, documented

from . import selectors, services
from .schemas import ChatIn, ChatOut, ConversationDetailOut, ConversationOut

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
