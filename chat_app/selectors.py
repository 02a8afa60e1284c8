"""Reads of a user's conversations.  Callers pass the user; ids from requests are checked against it."""

from __future__ import annotations

from django.db.models import QuerySet

from .models import Conversation, Message


def conversation_list(*, user) -> QuerySet[Conversation]:
    return Conversation.objects.filter(user=user).order_by("-updated_at", "-id")


def conversation_get(*, user, conversation_id: int) -> Conversation:
    """The user's conversation; Conversation.DoesNotExist for a missing one or someone else's."""
    return conversation_list(user=user).get(pk=conversation_id)


def conversation_latest(*, user) -> Conversation | None:
    return conversation_list(user=user).first()


def conversation_messages(*, conversation: Conversation) -> list[Message]:
    return list(conversation.messages.order_by("created_at", "id"))
