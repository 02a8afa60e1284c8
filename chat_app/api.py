from datetime import datetime
from typing import Any

from ninja import Field, Query, Router, Schema

from tasks_app.schemas import Text

from . import selectors, services
from .models import MESSAGE_MAX_LENGTH

router = Router(tags=["chat"])


class ChatIn(Schema):
    message: Text(MESSAGE_MAX_LENGTH, min_length=1) = Field(..., description="What the user says")
    conversation_id: int | None = Field(None, description="Continue this conversation; omit to start a new one")


class ToolCallOut(Schema):
    name: str
    arguments: dict[str, Any]
    result: dict[str, Any] = Field(..., description="The tool's JSON result, or {\"error\": message}")


class ChatOut(Schema):
    conversation_id: int
    reply: str
    tool_calls: list[ToolCallOut]


class ConversationOut(Schema):
    id: int
    title: str
    created_at: datetime
    updated_at: datetime


class MessageOut(Schema):
    role: str
    content: str
    tool_calls: list[ToolCallOut]
    created_at: datetime


class ConversationDetailOut(ConversationOut):
    messages: list[MessageOut]

    @staticmethod
    def resolve_messages(conversation) -> list:
        return selectors.conversation_messages(conversation=conversation)


@router.post("/chat", response=ChatOut)
def chat(request, payload: ChatIn):
    """Say something to the assistant; it acts on your tasks through the MCP tools and answers."""
    return services.chat_send(user=request.user, message=payload.message, conversation_id=payload.conversation_id)


@router.get("/chat/conversations", response=list[ConversationOut])
def list_conversations(request, limit: int = Query(50, ge=1, le=200)):
    return selectors.conversation_list(user=request.user)[:limit]


@router.get("/chat/conversations/{int:conversation_id}", response=ConversationDetailOut)
def get_conversation(request, conversation_id: int):
    # Conversation.DoesNotExist (missing, or another user's) becomes a 404 in todo_project.api.
    return selectors.conversation_get(user=request.user, conversation_id=conversation_id)
