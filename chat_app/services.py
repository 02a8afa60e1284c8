"""One chat turn: store the message, let the assistant or the agent act through the
MCP tools, store the reply with the tool calls made.

`chat_send` is what POST /api/chat, `manage.py chat` and the chat page call.  The
tools commit their own changes as they go (so after-commit jobs such as the next
occurrence of a recurring task start at once); the turn's messages are written
before and after, outside any long transaction.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from asgiref.sync import async_to_sync
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone

from tasks_app.cleaning import clean_text, user_timezone

from . import selectors
from .assistant import Memory, OfflineAssistant
from .models import MESSAGE_MAX_LENGTH, Conversation, Message
from .toolbox import ToolSession

logger = logging.getLogger(__name__)

HISTORY_MESSAGES = 20
TASK_RESULT_TOOLS = {"add_task", "get_task", "update_task", "complete_task", "reopen_task"}


@dataclass
class ChatTurn:
    conversation_id: int
    reply: str
    tool_calls: list[dict[str, Any]]
    engine: str = ""


@dataclass
class _Outcome:
    reply: str
    calls: list[dict[str, Any]]
    pending: dict[str, Any] | None = None
    model: str = ""


def chat_send(*, user, message: str, conversation_id: int | None = None, model=None) -> ChatTurn:
    """Answer `message` in the user's conversation (a new one when no id is given).

    With `model` (an agents.Model) or OPENAI_API_KEY set the agent answers, otherwise
    the offline assistant.  Conversation.DoesNotExist for another user's conversation.
    """
    text = _clean_message(message)
    if conversation_id is not None:
        conversation = selectors.conversation_get(user=user, conversation_id=conversation_id)
        earlier = selectors.conversation_messages(conversation=conversation)
    else:
        conversation = Conversation.objects.create(user=user, title=_title_from(text))
        earlier = []
    Message.objects.create(conversation=conversation, role=Message.Role.USER, content=text)

    use_agent = model is not None or bool(settings.OPENAI_API_KEY)
    zone = user_timezone(user)
    now = timezone.localtime(timezone.now(), zone)
    if use_agent:
        outcome = async_to_sync(_agent_turn)(user=user, text=text, earlier=earlier, now=now, model=model)
    else:
        outcome = async_to_sync(_offline_turn)(user=user, text=text, memory=memory_from(earlier), now=now)

    engine = Message.Engine.AGENT if use_agent else Message.Engine.OFFLINE
    Message.objects.create(
        conversation=conversation, role=Message.Role.ASSISTANT, content=outcome.reply, tool_calls=outcome.calls,
        engine=engine, model=outcome.model, pending=outcome.pending,
    )
    conversation.save(update_fields=["updated_at"])
    return ChatTurn(conversation_id=conversation.pk, reply=outcome.reply, tool_calls=outcome.calls, engine=engine)


def _clean_message(message: Any) -> str:
    if not isinstance(message, str) or not message.strip():
        raise ValidationError({"message": ["must not be empty"]})
    return clean_text("message", message.strip(), max_length=MESSAGE_MAX_LENGTH)


def _title_from(text: str) -> str:
    first_line = text.splitlines()[0]
    return first_line if len(first_line) <= 80 else first_line[:79] + "…"


async def _offline_turn(*, user, text: str, memory: Memory, now: datetime) -> _Outcome:
    async with ToolSession(user) as tools:
        answer = await OfflineAssistant(tools, now=now, memory=memory).respond(text)
    return _Outcome(reply=answer.text, calls=[call.as_dict() for call in tools.calls], pending=answer.pending)


async def _agent_turn(*, user, text: str, earlier: list[Message], now: datetime, model) -> _Outcome:
    # Imported here: the SDK takes seconds to import and the offline path never needs it.
    from agents.exceptions import AgentsException
    from openai import OpenAIError

    from .agent import agent_reply, configured_model_name

    model_name = getattr(model, "model", None) or (configured_model_name() if model is None else type(model).__name__)
    async with ToolSession(user) as tools:
        try:
            reply = await agent_reply(tools=tools, history=agent_history(earlier), message=text, now=now,
                                      zone_name=str(now.tzinfo), username=user.get_username(), model=model)
        except (AgentsException, OpenAIError) as exc:
            logger.warning("chat agent failed: %s: %s", type(exc).__name__, exc)
            reply = f"Sorry, the language model could not answer ({type(exc).__name__}: {exc})."
    return _Outcome(reply=reply or "(no answer)", calls=[call.as_dict() for call in tools.calls],
                    model=str(model_name))


# --------------------------------------------------------------------------- what earlier turns leave behind


def memory_from(messages: list[Message]) -> Memory:
    """The last task mentioned ("mark it as done"), the last list (for "show more") and an open question."""
    memory = Memory()
    assistant_messages = [message for message in messages if message.role == Message.Role.ASSISTANT]
    if assistant_messages and assistant_messages[-1].pending and messages[-1].role == Message.Role.ASSISTANT:
        memory.pending = assistant_messages[-1].pending
    for message in reversed(assistant_messages):
        calls = [call for call in message.tool_calls or [] if "error" not in (call.get("result") or {})]
        for call in reversed(calls):
            result = call.get("result") or {}
            if memory.last_task is None:
                if call["name"] in TASK_RESULT_TOOLS and "id" in result:
                    memory.last_task = {"id": result["id"], "title": result.get("title", "")}
                elif call["name"] == "list_tasks" and len(result.get("items", [])) == 1:
                    memory.last_task = {"id": result["items"][0]["id"], "title": result["items"][0]["title"]}
        if memory.last_list is None and calls and calls[-1]["name"] == "list_tasks":
            # A list the user asked for ends its turn; a lookup by name is followed by the change it was for.
            memory.last_list = {"arguments": calls[-1]["arguments"],
                                "next_cursor": (calls[-1].get("result") or {}).get("next_cursor")}
        if memory.last_task is not None and memory.last_list is not None:
            break
    return memory


def agent_history(messages: list[Message]) -> list[dict[str, str]]:
    """Earlier messages as model input; what tools did is summed up so "it" can be resolved."""
    history = []
    for message in messages[-HISTORY_MESSAGES:]:
        content = message.content
        if message.role == Message.Role.ASSISTANT and message.tool_calls:
            done = "; ".join(f"{call['name']}({json.dumps(call['arguments'], ensure_ascii=False)}) → "
                             f"{_summary(call.get('result') or {})}" for call in message.tool_calls)
            content = f"{content}\n\n[tools used: {done}]"
        history.append({"role": message.role, "content": content})
    return history


def _summary(result: dict[str, Any]) -> str:
    if "error" in result:
        return f"error: {result['error']}"
    if "id" in result and "title" in result:
        return f"task #{result['id']} “{result['title']}”" + (" (done)" if result.get("completed") else "")
    if "items" in result:
        shown = ", ".join(f"#{item['id']} “{item.get('title', item.get('message', ''))}”"
                          for item in result["items"][:10])
        return f"{result.get('count', len(result['items']))} found: {shown}"
    return json.dumps(result, ensure_ascii=False)[:300]
