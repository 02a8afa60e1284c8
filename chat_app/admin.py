"""Admin for conversations: read-only transcripts with their tool calls, for support and debugging."""

from django.contrib import admin
from django.db.models import Count

from tasks_app.admin import ModelAdmin

from .models import Conversation, Message


class MessageInline(admin.TabularInline):
    model = Message
    extra = 0
    can_delete = False
    fields = ("created_at", "role", "content", "tool_calls", "engine", "model")
    readonly_fields = fields
    ordering = ("created_at", "id")

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Conversation)
class ConversationAdmin(ModelAdmin):
    list_display = ("id", "title", "user", "message_count", "created_at", "updated_at")
    list_filter = ("updated_at",)
    search_fields = ("title", "user__username")
    list_select_related = ("user",)
    readonly_fields = ("user", "created_at", "updated_at")
    inlines = [MessageInline]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(message_count=Count("messages"))

    @admin.display(ordering="message_count", description="messages")
    def message_count(self, obj) -> int:
        return obj.message_count


@admin.register(Message)
class MessageAdmin(ModelAdmin):
    list_display = ("id", "conversation", "role", "short_content", "tool_call_count", "engine", "created_at")
    list_filter = ("role", "engine", "created_at")
    search_fields = ("content", "conversation__user__username")
    list_select_related = ("conversation",)
    readonly_fields = ("conversation", "role", "content", "tool_calls", "engine", "model", "pending", "created_at")

    @admin.display(description="content")
    def short_content(self, obj) -> str:
        return obj.content[:80]

    @admin.display(description="tool calls")
    def tool_call_count(self, obj) -> int:
        return len(obj.tool_calls or [])

    def has_add_permission(self, request) -> bool:
        return False
