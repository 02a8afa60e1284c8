"""The chat API's request and response shapes (django-ninja schemas).

A tool call is shown as the chat stored it: the tool's name, its arguments and
its JSON result (or {"error": message}), the same record the chat page renders.
"""

from datetime import datetime
from typing import Any

from ninja import Field, Schema

from tasks_app.schemas import TaskOut, Text

from . import selectors
from .models import MESSAGE_MAX_LENGTH
from .quick_add import QUICK_ADD_MAX_LENGTH


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


# --------------------------------------------------------------------------- quick add


class QuickAddIn(Schema):
    text: Text(QUICK_ADD_MAX_LENGTH, min_length=1) = Field(
        ..., description="One line describing the task, e.g. \"Pay rent every month #home p2 remind me 1 day before\"",
        examples=["Pay rent every month #home p2 remind me 1 day before"])


class QuickAddPartOut(Schema):
    kind: str = Field(..., description="title, priority, tag, due, recurrence or reminder")
    value: Any = Field(..., description="What it means: P2, a tag name, an ISO 8601 date-time, an RRULE, minutes "
                                        "before the due time, or the title")
    start: int = Field(..., description="Where it starts in `text` (0-based, counting Unicode code points)")
    end: int = Field(..., description="Where it ends in `text` (exclusive)")
    text: str = Field(..., description="The characters of `text` it was read from")


class QuickAddFieldsOut(Schema):
    title: str | None = None
    priority: str | None = None
    tags: list[str] = []
    due_at: datetime | None = None
    recurrence: str | None = None
    reminder_minutes_before: int | None = None


class QuickAddPreviewOut(Schema):
    fields: QuickAddFieldsOut = Field(..., description="What the task would be (priority P3 when none is given)")
    parts: list[QuickAddPartOut] = Field(..., description="What was understood, in the order it was typed")
    problem: str | None = Field(None, description="Why no task can be made of the text yet (null when one can)")


class QuickAddOut(Schema):
    task: TaskOut
    parts: list[QuickAddPartOut]
