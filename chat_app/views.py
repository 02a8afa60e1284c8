"""The chat page at /.

Works without JavaScript (the form posts here and the page reloads); chat.js
instead sends messages to POST /api/chat and swaps in the `?partial=messages`
and `?partial=tasks` fragments rendered by the same templates, so the markup
lives in one place.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse

from tasks_app import selectors as task_selectors
from tasks_app import throttling
from tasks_app.cleaning import user_timezone
from tasks_app.errors import QuotaExceeded

from . import selectors, services
from .models import MESSAGE_MAX_LENGTH, Conversation
from .toolbox import describe_call

TASK_PANEL_SIZE = 50
PARTIALS = {"messages": "chat_app/_messages.html", "tasks": "chat_app/_tasks.html"}


@login_required
def chat_page(request):
    conversation = _conversation(request)
    error, status, retry_after = "", 200, None
    if request.method == "POST":
        try:
            throttling.hit("chat", request.user.pk, settings.THROTTLE_CHAT_PER_USER, "chat messages")
            turn = services.chat_send(user=request.user, message=request.POST.get("message", ""),
                                      conversation_id=conversation.pk if conversation else None)
        except ValidationError as exc:
            error, status = "; ".join(exc.messages), 422
        except throttling.Throttled as exc:
            error, status, retry_after = exc.message, 429, exc.retry_after
        except QuotaExceeded as exc:
            error, status = str(exc), 403
        else:
            return redirect(f"{reverse('home')}?c={turn.conversation_id}")

    context: dict[str, Any] = {
        "conversation": conversation,
        "chat_messages": [_present(message) for message in selectors.conversation_messages(conversation=conversation)]
        if conversation else [],
        "tasks": task_selectors.task_list(user=request.user, completed=False, limit=TASK_PANEL_SIZE, rows=True),
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
    response = render(request, "chat_app/chat.html", context, status=status)
    if retry_after is not None:
        response["Retry-After"] = str(retry_after)
    return response


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
