from django import forms
from django.conf import settings
from django.contrib import admin
from django.core.exceptions import ValidationError

from . import services
from .models import ApiToken, AuditLog, IdempotencyKey, Notification, OutboxEvent, Tag, Task


class TaskAdminForm(forms.ModelForm):
    class Meta:
        model = Task
        fields = ["user", "title", "description", "priority", "tags", "due_at", "recurrence",
                  "reminder_minutes_before"]

    def clean(self):
        cleaned = super().clean()
        user = cleaned.get("user") or getattr(self.instance, "user", None)
        foreign = [tag.name for tag in cleaned.get("tags") or [] if user and tag.user_id != user.pk]
        if foreign:
            raise ValidationError({"tags": f"these tags belong to another user: {', '.join(foreign)}"})
        return cleaned


@admin.register(Task)
class TaskAdmin(admin.ModelAdmin):
    """Edits go through tasks_app.services, like every other interface, so the
    same rules (and later the same events) apply to an operator's change."""

    form = TaskAdminForm
    list_display = ["title", "user", "priority", "due_at", "completed", "recurrence", "updated_at"]
    list_filter = ["priority", "completed", ("due_at", admin.DateFieldListFilter), "created_at"]
    search_fields = ["title", "description", "user__username", "tags__name"]
    autocomplete_fields = ["user", "tags"]
    readonly_fields = ["completed", "completed_at", "reminder_sent_at", "created_at", "updated_at"]
    list_select_related = ["user"]
    date_hierarchy = "due_at"
    actions = ["complete_selected", "reopen_selected"]

    def get_readonly_fields(self, request, obj=None):
        # A task does not move between users.
        return [*self.readonly_fields, "user"] if obj else self.readonly_fields

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        fields = {name: data.get(name) for name in services.UPDATABLE_FIELDS if name != "tags"}
        fields["tags"] = [tag.name for tag in data.get("tags") or []]
        if change:
            saved = services.task_update(task=obj, **fields)
        else:
            saved = services.task_create(user=data["user"], **fields)
        obj.pk = saved.pk
        obj.refresh_from_db()

    def save_related(self, request, form, formsets, change):
        # Tags were set by the service in save_model; only inlines (none today) remain.
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)

    def delete_model(self, request, obj):
        services.task_delete(task=obj)

    def delete_queryset(self, request, queryset):
        for task in queryset:
            services.task_delete(task=task)

    @admin.action(description="Mark selected tasks as completed")
    def complete_selected(self, request, queryset):
        for task in queryset:
            services.task_complete(task=task)

    @admin.action(description="Reopen selected tasks")
    def reopen_selected(self, request, queryset):
        for task in queryset:
            services.task_reopen(task=task)


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    list_display = ["name", "user", "created_at"]
    search_fields = ["name", "user__username"]
    list_select_related = ["user"]


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["prefix", "user", "name", "created_at", "last_used_at"]
    search_fields = ["user__username", "name", "prefix"]
    readonly_fields = ["prefix", "key_hash", "created_at", "last_used_at"]

    def has_add_permission(self, request):
        return False  # issue tokens with `manage.py issue_token` or POST /api/auth/token


class ReadOnlyAdmin(admin.ModelAdmin):
    """A record of what happened: operators look, nobody edits."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(AuditLog)
class AuditLogAdmin(ReadOnlyAdmin):
    list_display = ["occurred_at", "type", "user", "task_id", "event_id"]
    list_filter = ["type", ("user", admin.RelatedOnlyFieldListFilter), "occurred_at"]
    search_fields = ["=task_id", "=event_id", "user__username"]
    list_select_related = ["user"]
    date_hierarchy = "occurred_at"

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(IdempotencyKey)
class IdempotencyKeyAdmin(ReadOnlyAdmin):
    """Who sent which Idempotency-Key to what, and the answer retries get (pruned by the retention job)."""

    list_display = ["created_at", "user", "key", "scope", "status_code"]
    list_filter = ["scope", ("user", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["=key", "user__username"]
    list_select_related = ["user"]


@admin.register(OutboxEvent)
class OutboxEventAdmin(ReadOnlyAdmin):
    list_display = ["id", "type", "topic", "key", "created_at", "published_at", "parked_at", "attempts",
                    "payload_bytes", "last_error"]
    # Parked events (the sink set them aside as undeliverable): "Parked at" → "Not empty".
    list_filter = ["type", "topic", ("published_at", admin.EmptyFieldListFilter),
                   ("parked_at", admin.EmptyFieldListFilter)]
    search_fields = ["=key", "=event_id"]
    actions = ["retry_parked"]

    def has_retry_permission(self, request):
        return request.user.has_perm("tasks_app.change_outboxevent")

    @admin.action(description="Retry parked events", permissions=["retry"])
    def retry_parked(self, request, queryset):
        """The sink's next run (beat, every OUTBOX_SWEEP_INTERVAL s) sends them again; the last error
        stays visible until then."""
        count = services.outbox_retry_parked(event_ids=queryset.values_list("pk", flat=True))
        self.message_user(request, f"{count} parked event(s) will be retried by the Kafka sink within "
                                   f"{settings.OUTBOX_SWEEP_INTERVAL} s.")


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ["created_at", "user", "kind", "message", "read_at"]
    list_filter = ["kind", ("read_at", admin.EmptyFieldListFilter), ("user", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["message", "user__username"]
    list_select_related = ["user"]
    readonly_fields = ["user", "task", "kind", "message", "due_at", "created_at"]

    def has_add_permission(self, request):
        return False
