from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Length
from django.db.models.lookups import LessThanOrEqual

MESSAGE_MAX_LENGTH = 4000


class Conversation(models.Model):
    """One chat thread of a user; its messages keep the tool calls made for them."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="conversations")
    title = models.CharField(max_length=200, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at", "-id"]
        indexes = [
            # The chat page and `chat --continue` open a user's most recent conversation.
            models.Index(fields=["user", "-updated_at", "-id"], name="conversation_user_recent"),
            # Retention: `updated_at < now() - CONVERSATION_RETENTION_DAYS ORDER BY updated_at LIMIT n`
            # (chat_app.retention.conversations_prune), across users.
            models.Index(fields=["updated_at"], name="conversation_idle"),
        ]

    def __str__(self) -> str:
        return self.title or f"Conversation {self.pk}"


class Message(models.Model):
    class Role(models.TextChoices):
        USER = "user", "User"
        ASSISTANT = "assistant", "Assistant"

    class Engine(models.TextChoices):
        OFFLINE = "offline", "Offline assistant"
        AGENT = "agent", "OpenAI Agents SDK agent"

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="messages")
    role = models.CharField(max_length=10, choices=Role.choices)
    content = models.TextField()
    # Assistant messages: [{"name", "arguments", "result"}] in call order; a failed call has result {"error": ...}.
    tool_calls = models.JSONField(default=list, blank=True)
    # Assistant messages: who answered (offline parser or the agent) and, for the agent, the model name.
    engine = models.CharField(max_length=10, choices=Engine.choices, blank=True, default="")
    model = models.CharField(max_length=200, blank=True, default="")
    # The offline assistant's open question ("which one do you mean?"), answered by the next message.
    pending = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            # A conversation's messages in order (page, history for the agent, "it" = last task mentioned).
            models.Index(fields=["conversation", "created_at", "id"], name="message_conversation_order"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(role__in=["user", "assistant"]), name="message_role_valid"),
            # What a user says is bounded (chat_app.services); the assistant's replies are written by the app.
            models.CheckConstraint(
                condition=Q(role="assistant") | Q(LessThanOrEqual(Length("content"), MESSAGE_MAX_LENGTH)),
                name="message_user_content_max_length",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.role}: {self.content[:60]}"
