"""The chat app: conversations, the agent and offline assistant, and the MCP tools they share."""

from django.apps import AppConfig


class ChatAppConfig(AppConfig):
    name = "chat_app"
    verbose_name = "Chat"
