"""The chat API's request and response shapes (django-ninja schemas).

A tool call is shown as the chat stored it: the tool's name, its arguments and
its JSON result (or {"error": message}), the same record the chat page renders.
"""

from datetime import datetime
from typing import Any

from ninja import Field, Schema

from tasks_app.schemas import Text

from . import selectors
from .models import MESSAGE_MAX_LENGTH


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
