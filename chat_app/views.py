"""The chat page at /.

Works without JavaScript (the form posts here and the page reloads); chat.js
instead sends messages to POST /api/chat and swaps in the `?partial=messages`
and `?partial=tasks` fragments rendered by the same templates, so the markup
lives in one place.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse

from tasks_app import selectors as task_selectors
from tasks_app.cleaning import user_timezone

from . import selectors, services
from .models import MESSAGE_MAX_LENGTH, Conversation
from .toolbox import describe_call

TASK_PANEL_SIZE = 50
PARTIALS = {"messages": "chat_app/_messages.html", "tasks": "chat_app/_tasks.html"}


@login_required
def chat_page(request):
    conversation = _conversation(request)
    error = ""
    if request.method == "POST":
        try:
            turn = services.chat_send(user=request.user, message=request.POST.get("message", ""),
                                      conversation_id=conversation.pk if conversation else None)
        except ValidationError as exc:
            error = "; ".join(exc.messages)
        else:
            return redirect(f"{reverse('home')}?c={turn.conversation_id}")

    context: dict[str, Any] = {
        "conversation": conversation,
        "chat_messages": [_present(message) for message in selectors.conversation_messages(conversation=conversation)]
        if conversation else [],
        "tasks": task_selectors.task_list(user=request.user, completed=False, limit=TASK_PANEL_SIZE),
        "time_zone": str(user_timezone(request.user)),
        "message_max_length": MESSAGE_MAX_LENGTH,
        "error": error,
    }
    partial = request.GET.get("partial")
    if partial is not None:
        if partial not in PARTIALS:
            raise Http404("no such part of the page")
        return render(request, PARTIALS[partial], context)
    context["conversations"] = selectors.conversation_list(user=request.user)[:20]
    return render(request, "chat_app/chat.html", context, status=422 if error else 200)


def _conversation(request) -> Conversation | None:
    raw = request.POST.get("conversation_id") or request.GET.get("c")
    if raw:
        try:
            return selectors.conversation_get(user=request.user, conversation_id=int(raw))
        except (ValueError, Conversation.DoesNotExist):
            raise Http404("conversation not found") from None
    if "new" in request.GET or request.method == "POST":
        return None
    return selectors.conversation_latest(user=request.user)


def _present(message) -> dict[str, Any]:
    return {
        "role": message.role,
        "content": message.content,
        "created_at": message.created_at,
        "tool_calls": [{"name": call["name"], "summary": describe_call(call), "failed": "error" in call["result"],
                        "arguments": call["arguments"], "result": call["result"]}
                       for call in message.tool_calls or []],
    }
