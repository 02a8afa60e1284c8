"""One chat turn, orchestration only: clean the message, load the conversation, let the
offline assistant or the agent act through the MCP tools, store both messages.

`chat_send` is what POST /api/chat, `manage.py chat` and the chat page call.  The
tools commit their own changes as they go (so after-commit jobs such as the next
occurrence of a recurring task start at once); the turn's messages are written
before and after, outside any long transaction.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from asgiref.sync import async_to_sync
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone

from tasks_app.cleaning import clean_text, user_timezone
from tasks_app.models import Profile
from tasks_app.selectors import profile_get, tag_names
from tasks_app.errors import quota_check
from tasks_app.throttling import daily_budget_spend

from . import confirmations, selectors
from .models import MESSAGE_MAX_LENGTH, Conversation, Message
from .offline.assistant import Memory, OfflineAssistant, memory_from
from .toolbox import ToolSession

logger = logging.getLogger(__name__)


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
    the offline assistant.  Conversation.DoesNotExist for another user's conversation;
    QuotaExceeded past QUOTA_CONVERSATIONS_PER_USER or QUOTA_MESSAGES_PER_CONVERSATION;
    Throttled past LLM_DAILY_MESSAGES_PER_USER (agent turns only).
    """
    text = _clean_message(message)
    use_agent = model is not None or bool(settings.OPENAI_API_KEY)
    if conversation_id is not None:
        conversation = selectors.conversation_get(user=user, conversation_id=conversation_id)
        earlier = selectors.conversation_messages(conversation=conversation)
        # A turn stores two messages (the user's and the answer).
        quota_check(used=len(earlier) + 1, limit=settings.QUOTA_MESSAGES_PER_CONVERSATION,
                    what="messages per conversation", hint="start a new conversation")
    else:
        quota_check(used=Conversation.objects.filter(user=user).count(), limit=settings.QUOTA_CONVERSATIONS_PER_USER,
                    what="conversations per user")
        conversation, earlier = None, []
    zone = user_timezone(user)
    now = timezone.localtime(timezone.now(), zone)
    # A pending "delete/complete these N tasks?" is answered by this message, here and not by a model.
    pending, confirmation = confirmations.pending_in(earlier), None
    if pending:
        confirmation = async_to_sync(confirmations.answer)(user=user, pending=pending, text=text, now=now)
    answered_here = confirmation is not None and confirmation.reply is not None
    if use_agent and not answered_here:
        # Spent before the model is asked (Throttled, a 429, once the day's budget is used up).
        daily_budget_spend("llm", user.pk, settings.LLM_DAILY_MESSAGES_PER_USER, "messages to the language model")
    if conversation is None:
        conversation = Conversation.objects.create(user=user, title=_title_from(text))
    Message.objects.create(conversation=conversation, role=Message.Role.USER, content=text)

    if answered_here:
        use_agent = False
        outcome = _Outcome(reply=confirmation.reply, calls=confirmation.calls)
    elif use_agent:
        outcome = async_to_sync(_agent_turn)(user=user, text=text, earlier=earlier, now=now, model=model)
    else:
        outcome = async_to_sync(_offline_turn)(user=user, text=text, memory=memory_from(earlier), now=now,
                                               profile=profile_get(user=user), known_tags=tag_names(user=user))
    if confirmation is not None and confirmation.note:
        outcome.reply = f"{confirmation.note}\n{outcome.reply}"

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


async def _offline_turn(*, user, text: str, memory: Memory, now: datetime, profile: Profile,
                        known_tags: list[str]) -> _Outcome:
    async with ToolSession(user) as tools:
        answer = await OfflineAssistant(tools, now=now, memory=memory,
                                        default_reminder_minutes=profile.default_reminder_minutes,
                                        week_start=profile.week_start, known_tags=known_tags).respond(text)
    return _Outcome(reply=answer.text, calls=[call.as_dict() for call in tools.calls], pending=answer.pending)


async def _agent_turn(*, user, text: str, earlier: list[Message], now: datetime, model) -> _Outcome:
    # Imported here: the SDK takes seconds to import and the offline path never needs it.
    from agents.exceptions import AgentsException
    from openai import OpenAIError

    from .agent import agent_history, agent_reply, configured_model_name

    model_name = getattr(model, "model", None) or (configured_model_name() if model is None else type(model).__name__)
    async with ToolSession(user) as tools:
        try:
            reply = await agent_reply(tools=tools, history=agent_history(earlier), message=text, now=now,
                                      zone_name=str(now.tzinfo), username=user.get_username(), model=model)
        except (AgentsException, OpenAIError) as exc:
            logger.warning("chat agent failed: %s: %s", type(exc).__name__, exc)
            reply = f"Sorry, the language model could not answer ({type(exc).__name__}: {exc})."
            tools.pending_action = None  # the user was not shown its preview, so a "yes" must not act
    return _Outcome(reply=reply or "(no answer)", calls=[call.as_dict() for call in tools.calls],
                    pending=tools.pending_action, model=str(model_name))
