from django import forms
from django.conf import settings
from django.contrib import admin
from django.core.exceptions import PermissionDenied, ValidationError

from . import services
from .models import (
    ApiToken,
    AuditLog,
    CalendarFeed,
    Change,
    IdempotencyKey,
    Notification,
    NotificationDelivery,
    Profile,
    OutboxEvent,
    PushSubscription,
    SavedFilter,
    Tag,
    Task,
    VapidKey,
    WebhookDelivery,
    WebhookEndpoint,
)
from .webhooks import services as webhook_services


class ModelAdmin(admin.ModelAdmin):
    """The base of the project's model admins (chat_app's too).

    Django's history view looks the object up before it checks permissions, so a staff user with no
    right on a model could tell an existing id (403) from a missing one (a redirect): another user's
    task, token or conversation.  Here the permission comes first, as in every other admin view."""

    def history_view(self, request, object_id, extra_context=None):
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        return super().history_view(request, object_id, extra_context)


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
class TaskAdmin(ModelAdmin):
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
class TagAdmin(ModelAdmin):
    list_display = ["name", "user", "created_at"]
    search_fields = ["name", "user__username"]
    list_select_related = ["user"]


@admin.register(ApiToken)
class ApiTokenAdmin(ModelAdmin):
    list_display = ["prefix", "user", "name", "created_at", "last_used_at"]
    search_fields = ["user__username", "name", "prefix"]
    readonly_fields = ["prefix", "key_hash", "created_at", "last_used_at"]

    def has_add_permission(self, request):
        return False  # issue tokens with `manage.py issue_token` or POST /api/auth/token


class ReadOnlyAdmin(ModelAdmin):
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
class NotificationAdmin(ModelAdmin):
    list_display = ["created_at", "user", "kind", "message", "read_at"]
    list_filter = ["kind", ("read_at", admin.EmptyFieldListFilter), ("user", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["message", "user__username"]
    list_select_related = ["user"]
    readonly_fields = ["user", "task", "kind", "message", "due_at", "created_at"]

    def has_add_permission(self, request):
        return False


@admin.register(NotificationDelivery)
class NotificationDeliveryAdmin(ReadOnlyAdmin):
    """The delivery log of notices on email (and push): status, attempts, the last error.  Written only
    by tasks_app.services.deliveries; retries are the delivery job's."""

    list_display = ["created_at", "user", "channel", "status", "attempts", "next_attempt_at", "sent_at",
                    "last_error"]
    list_filter = ["status", "channel", ("user", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["user__username", "=notification__id"]
    list_select_related = ["user"]
    raw_id_fields = ["notification"]


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(ModelAdmin):
    list_display = ["url", "user", "is_active", "consecutive_failures", "event_types", "created_at"]
    list_filter = ["is_active"]
    search_fields = ["url", "user__username"]
    # The secrets sign deliveries; an operator never needs to read them.
    exclude = ["secret", "previous_secret"]
    readonly_fields = ["user", "consecutive_failures", "disabled_reason", "previous_secret_expires_at",
                       "created_at", "updated_at"]

    def has_add_permission(self, request):
        return False  # an endpoint gets its secret from webhook_create (the API or the settings page)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    """The delivery log: status, attempts, response time and the last error of each delivery."""

    list_display = ["created_at", "endpoint", "event_type", "status", "attempts", "last_status_code",
                    "last_response_ms", "next_attempt_at", "last_error"]
    list_filter = ["status", "event_type"]
    list_select_related = ["endpoint"]
    search_fields = ["endpoint__url", "event_id"]
    actions = ["redeliver"]

    @admin.action(description="Send the selected deliveries again")
    def redeliver(self, request, queryset):
        for delivery in queryset.select_related("endpoint__user"):
            webhook_services.webhook_redeliver(user=delivery.endpoint.user, delivery_id=delivery.pk)
        self.message_user(request, f"{queryset.count()} deliveries will be sent again.")


@admin.register(Profile)
class ProfileAdmin(ModelAdmin):
    """Users' preferences, for reading: people change theirs on /settings/, through /api/me or the chat,
    all through tasks_app.services.profile_update (which checks the zone against zoneinfo)."""

    list_display = ["user", "timezone", "default_reminder_minutes", "quiet_hours_start", "quiet_hours_end",
                    "week_start", "email_reminders", "updated_at"]
    list_filter = ["week_start"]
    search_fields = ["user__username", "timezone"]
    list_select_related = ["user"]
    readonly_fields = ["user", "timezone", "default_reminder_minutes", "quiet_hours_start", "quiet_hours_end",
                       "week_start", "email_reminders", "updated_at"]

    def has_add_permission(self, request):
        return False


@admin.register(CalendarFeed)
class CalendarFeedAdmin(ModelAdmin):
    """Who has a calendar feed on.  The URL is not shown (it is not stored: tasks_app.calendar_feed);
    deleting a row turns that feed off, e.g. when a user reports it leaked."""

    list_display = ["user", "created_at"]
    search_fields = ["user__username"]
    list_select_related = ["user"]
    fields = ["user", "created_at"]
    readonly_fields = ["user", "created_at"]

    def has_add_permission(self, request):
        return False  # turned on by its user: /settings/ or POST /api/calendar-feed/rotate

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(PushSubscription)
class PushSubscriptionAdmin(ReadOnlyAdmin):
    """Which users get push in which browsers.  The endpoint and keys are not shown (the endpoint is a
    capability URL, the keys the browser's); deleting a row stops push to that browser."""

    list_display = ["user", "user_agent", "created_at", "last_success_at"]
    search_fields = ["user__username"]
    list_select_related = ["user"]
    fields = ["user", "user_agent", "created_at", "last_success_at"]
    readonly_fields = fields


@admin.register(VapidKey)
class VapidKeyAdmin(ReadOnlyAdmin):
    """The generated VAPID key pair (tasks_app.push.vapid).  Deleting it makes a new pair on next use:
    every browser must then enable push again."""

    list_display = ["public_key", "created_at"]
    fields = ["public_key", "created_at"]
    readonly_fields = fields


@admin.register(SavedFilter)
class SavedFilterAdmin(ReadOnlyAdmin):
    """Users' named lists.  Their parameters are validated by the list's own schema when saved through
    the API (services.saved_filters), so the admin shows them and may delete one, but does not edit."""

    list_display = ["name", "user", "params", "updated_at"]
    search_fields = ["name", "user__username"]
    list_filter = [("user", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["user"]
    fields = ["user", "name", "params", "created_at", "updated_at"]
    readonly_fields = fields


@admin.register(Change)
class ChangeAdmin(ReadOnlyAdmin):
    """What undo can revert: each change with the task before and after.  Pruned by the retention job;
    deleting one here would make an undo skip it, so nobody deletes."""

    list_display = ["created_at", "user", "kind", "task_id", "group", "undone_at"]
    list_filter = ["kind", ("user", admin.RelatedOnlyFieldListFilter), ("undone_at", admin.EmptyFieldListFilter)]
    search_fields = ["=task_id", "=group", "user__username"]
    list_select_related = ["user"]
    date_hierarchy = "created_at"
    fields = ["user", "group", "task_id", "kind", "before", "after", "created_at", "undone_at"]
    readonly_fields = fields

    def has_delete_permission(self, request, obj=None):
        return False
