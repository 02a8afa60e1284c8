from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django.db.models import Func, Q
from django.db.models.functions import Cast, Length, Lower
from django.db.models.lookups import LessThanOrEqual

from .limits import TASK_DESCRIPTION_MAX_LENGTH_CEILING

MAX_TAGS_PER_TASK = 10
MAX_REMINDER_MINUTES = 40320  # four weeks
MAX_SNOOZE_MINUTES = 1440  # a day: longer is a new due date, not a snooze
TITLE_MAX_LENGTH = 200
TAG_MAX_LENGTH = 50


class Priority(models.TextChoices):
    P1 = "P1", "P1 – critical"
    P2 = "P2", "P2 – high"
    P3 = "P3", "P3 – normal"
    P4 = "P4", "P4 – low"


class RecurrenceState(models.TextChoices):
    PENDING = "pending", "next occurrence pending"
    SPAWNED = "spawned", "next occurrence created"
    ENDED = "ended", "series ended"


class Tag(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="tags")
    name = models.CharField(max_length=TAG_MAX_LENGTH)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = [Lower("name")]
        constraints = [
            # "Work" and "work" are one tag for a user; also serves lookups by name.
            models.UniqueConstraint("user", Lower("name"), name="tag_unique_name_per_user_ci"),
            models.CheckConstraint(condition=~Q(name=""), name="tag_name_not_empty"),
        ]

    def __str__(self) -> str:
        return self.name


class Task(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="tasks")
    title = models.CharField(max_length=TITLE_MAX_LENGTH)
    description = models.TextField(blank=True, default="")
    priority = models.CharField(max_length=2, choices=Priority.choices, default=Priority.P3)
    tags = models.ManyToManyField(Tag, blank=True, related_name="tasks")
    due_at = models.DateTimeField(null=True, blank=True)
    completed = models.BooleanField(default=False)
    completed_at = models.DateTimeField(null=True, blank=True)
    # An RFC 5545 RRULE body such as "FREQ=WEEKLY;BYDAY=MO"; null for a one-off task.
    recurrence = models.CharField(max_length=500, null=True, blank=True)
    # Todoist's "every!": the next occurrence is laid out from the completion time (in the user's zone,
    # keeping the due time of day) instead of from the series' anchor (docs/events.md, "Recurrence").
    recurrence_from_completion = models.BooleanField(default=False, db_default=False)
    reminder_minutes_before = models.PositiveIntegerField(null=True, blank=True)
    reminder_sent_at = models.DateTimeField(null=True, blank=True)
    # Set by snoozing the reminder's notice (services.notification_snooze): the reminder fires again
    # then.  The remind_at trigger (migration 0011_snooze) uses it instead of due_at - lead time, and
    # clears it when the due date or lead time changes; the claim that fires it clears it too.
    snoozed_until = models.DateTimeField(null=True, blank=True, editable=False)
    # due_at - reminder_minutes_before (or snoozed_until), set by a database trigger (migrations
    # 0003_events, 0011_snooze) so that no write path can forget it; the reminder scan's index key.
    remind_at = models.DateTimeField(null=True, blank=True, editable=False)
    # The completed occurrence this one was spawned from.  Unique: a completed
    # occurrence has at most one next occurrence, whatever the job redeliveries.
    previous_occurrence = models.OneToOneField(
        "self", null=True, blank=True, editable=False, on_delete=models.SET_NULL, related_name="next_occurrence"
    )
    # The series this occurrence belongs to (docs/events.md, "Recurrence"): its anchor (the first
    # occurrence's due date, copied to every occurrence: month-end clamping and INTERVAL grids are
    # counted from it) and this occurrence's 1-based number (COUNT counts these).
    series_start = models.DateTimeField(null=True, blank=True, editable=False)
    series_position = models.PositiveIntegerField(default=1, db_default=1, editable=False)
    # The due date the rule gave this occurrence.  Moving one occurrence (a new due_at alone) changes
    # due_at only: the next occurrence still follows the rule from this slot (and the series' anchor),
    # so a standup moved from Monday to Friday is followed by next Monday's, not by a Friday series.
    rule_due_at = models.DateTimeField(null=True, blank=True, editable=False)
    # On a completed recurring task: whether its next occurrence is still to be created ("pending"),
    # was created ("spawned", even if since deleted) or will never be ("ended": COUNT or UNTIL
    # reached, or a rule with no further occurrence).  Recorded, not inferred from next_occurrence.
    recurrence_state = models.CharField(max_length=8, null=True, blank=True, editable=False,
                                        choices=RecurrenceState.choices)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Title (weight A), description (B) and tag names (C), kept current by database
    # triggers (migration 0002_search) on every write, tag changes included: never
    # set it from Python; whatever is written here is recomputed.
    search_vector = SearchVectorField(null=True, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # The default list: one user's tasks, newest first.
            models.Index(fields=["user", "-created_at", "-id"], name="task_user_created"),
            # "Recently changed" lists: sort=-updated_at (and updated_at, read backwards) with keyset pages.
            models.Index(fields=["user", "-updated_at", "-id"], name="task_user_updated"),
            # Lists filtered by completion and ordered by due date ("what's next").
            models.Index(fields=["user", "completed", "due_at", "id"], name="task_user_open_due"),
            # Search: `user_id = %s AND search_vector @@ websearch_to_tsquery(...)` (selectors.task_list
            # with q).  btree_gin puts user_id in the same GIN index, so one user's matches are found
            # without visiting the other users' rows that contain the word.
            GinIndex(fields=["user", "search_vector"], name="task_user_search"),
            # The reminder scan: `remind_at <= now() AND reminder_sent_at IS NULL AND NOT completed`
            # (tasks_app.services.reminders_claim_due).  Partial, so its size and cost follow the reminders still to
            # send, not the table.
            models.Index(
                fields=["remind_at"],
                name="task_reminder_pending",
                condition=Q(reminder_sent_at__isnull=True, completed=False, remind_at__isnull=False),
            ),
            # The recurrence sweeper: `completed AND recurrence IS NOT NULL AND recurrence_state = 'pending'
            # AND completed_at BETWEEN ...` (selectors.recurring_tasks_awaiting_next).  Partial: only the
            # occurrences whose next one is still to be created, a handful whatever the history.
            models.Index(
                fields=["completed_at"],
                name="task_recurrence_pending",
                condition=Q(completed=True, recurrence__isnull=False, recurrence_state="pending"),
            ),
        ]
        constraints = [
            models.CheckConstraint(condition=~Q(title=""), name="task_title_not_empty"),
            # The title, tags and recurrence are varchar(n); the description is text, bounded here.
            models.CheckConstraint(
                condition=LessThanOrEqual(Length("description"), TASK_DESCRIPTION_MAX_LENGTH_CEILING),
                name="task_description_max_length",
            ),
            models.CheckConstraint(condition=Q(priority__in=Priority.values), name="task_priority_valid"),
            models.CheckConstraint(
                condition=Q(reminder_minutes_before__isnull=True)
                | Q(reminder_minutes_before__gte=0, reminder_minutes_before__lte=MAX_REMINDER_MINUTES),
                name="task_reminder_in_range",
            ),
            models.CheckConstraint(
                condition=Q(completed=True, completed_at__isnull=False) | Q(completed=False, completed_at__isnull=True),
                name="task_completed_at_iff_completed",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def recurrence_text(self) -> str | None:
        """The rule in words ("every 2 weeks on Tuesday"), None for a one-off task."""
        from .recurrence import describe  # pure; imported here to keep models free of import cycles

        if not self.recurrence:
            return None
        return describe(self.recurrence, from_completion=self.recurrence_from_completion)


SAVED_FILTER_NAME_MAX_LENGTH = 100
MAX_SAVED_FILTERS_PER_USER = 50


class SavedFilter(models.Model):
    """A named list: any combination of GET /api/tasks's parameters (tasks_app.saved_filters
    validates them with the list's own schema and selector), applied with ?filter=<name or id>."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_filters")
    name = models.CharField(max_length=SAVED_FILTER_NAME_MAX_LENGTH)
    params = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = [Lower("name"), "id"]
        constraints = [
            # One "Work this week" per user whatever the case; also serves lookups by name.
            models.UniqueConstraint("user", Lower("name"), name="saved_filter_unique_name_per_user_ci"),
            models.CheckConstraint(condition=~Q(name=""), name="saved_filter_name_not_empty"),
        ]

    def __str__(self) -> str:
        return self.name


class ApiToken(models.Model):
    """A bearer token for the REST API and MCP.  Only its SHA-256 is stored:
    a leaked database does not leak working tokens.  Revoking one deletes it."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100, blank=True, default="")
    key_hash = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=12, help_text="The first characters, to tell tokens apart.")
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    # Set when issued (API_TOKEN_TTL_DAYS); from then on the token is refused.
    expires_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"


class OutboxEvent(models.Model):
    """A domain event, written in the same transaction as the change it describes.

    The Kafka sink (workers.outbox) publishes rows in id order and sets
    published_at; `payload` is the complete CloudEvent, so a retry sends the very
    same message (same `id`) and consumers can drop repeats.
    """

    event_id = models.UUIDField(unique=True, editable=False)
    type = models.CharField(max_length=64)
    topic = models.CharField(max_length=100)
    key = models.CharField(max_length=64, help_text="Kafka message key: the task id, for per-task ordering.")
    # Not foreign keys: the event outlives a deleted task or user.
    user_id = models.BigIntegerField(null=True, db_index=False)
    task_id = models.BigIntegerField(null=True)
    payload = models.JSONField()
    created_at = models.DateTimeField()
    published_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True, default="")
    # Set by the sink when the event cannot be delivered (too large, rejected by the broker, failed
    # OUTBOX_MAX_ATTEMPTS times): it is no longer retried, so it cannot hold up later events.
    # The admin action "retry parked events" clears it.
    parked_at = models.DateTimeField(null=True, blank=True)
    # Bytes of the payload as the sink sends it (`payload::text`), kept by the database: the sink
    # sizes its batches and refuses too-large messages without reading the payloads.
    payload_bytes = models.GeneratedField(
        expression=Func(Cast("payload", models.TextField()), function="OCTET_LENGTH"),
        output_field=models.IntegerField(), db_persist=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            # The sink and the lag gauge: pending = `published_at IS NULL AND parked_at IS NULL ORDER BY id`;
            # the sizes ride along so that the sink's scan is index-only.
            models.Index(fields=["id"], name="outbox_unpublished", include=["payload_bytes"],
                         condition=Q(published_at__isnull=True, parked_at__isnull=True)),
            # The parked gauge and the admin filter.
            models.Index(fields=["id"], name="outbox_parked",
                         condition=Q(published_at__isnull=True, parked_at__isnull=False)),
            # The audit sweep: `created_at BETWEEN ... AND NOT EXISTS (audit row)`, newest first
            # (selectors.outbox_events_unaudited), reading only the recent window.
            models.Index(fields=["created_at"], name="outbox_created"),
            # Retention: `published_at < now() - OUTBOX_RETENTION_DAYS ORDER BY published_at LIMIT n`
            # (tasks_app.services.retention.outbox_prune).  Partial: unpublished rows are never pruned.
            models.Index(fields=["published_at"], name="outbox_published", condition=Q(published_at__isnull=False)),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.key} ({self.event_id})"


class AuditLog(models.Model):
    """One row per domain event, recorded by a Celery job after commit."""

    event_id = models.UUIDField(unique=True, help_text="The CloudEvents id; a redelivered job records nothing twice.")
    type = models.CharField(max_length=64)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    task_id = models.BigIntegerField(null=True)
    data = models.JSONField()
    occurred_at = models.DateTimeField()
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        indexes = [
            # Admin filters: by user, by type, by task, newest first.
            models.Index(fields=["user", "-occurred_at"], name="audit_user_time"),
            models.Index(fields=["type", "-occurred_at"], name="audit_type_time"),
            models.Index(fields=["task_id", "-occurred_at"], name="audit_task_time"),
            # Retention: `occurred_at < now() - AUDIT_RETENTION_DAYS ORDER BY occurred_at LIMIT n`
            # (tasks_app.services.retention.audit_prune).
            models.Index(fields=["occurred_at"], name="audit_occurred"),
        ]

    def __str__(self) -> str:
        return f"{self.type} task {self.task_id} at {self.occurred_at:%Y-%m-%d %H:%M}"


class Notification(models.Model):
    """What a user is told, e.g. a due reminder; shown in the app until read."""

    class Kind(models.TextChoices):
        REMINDER = "reminder", "Reminder"
        WEBHOOK_DISABLED = "webhook_disabled", "Webhook disabled"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    task = models.ForeignKey(Task, null=True, blank=True, on_delete=models.SET_NULL, related_name="notifications")
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.REMINDER)
    message = models.CharField(max_length=300)
    due_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # GET /api/notifications: one user's, unread first filterable, newest first.
            models.Index(fields=["user", "read_at", "-created_at"], name="notification_user_unread"),
            # Retention: `read_at < now() - NOTIFICATION_RETENTION_DAYS ORDER BY read_at LIMIT n`
            # (tasks_app.services.retention.notifications_prune).  Partial: unread ones are never pruned.
            models.Index(fields=["read_at"], name="notification_read", condition=Q(read_at__isnull=False)),
        ]

    def __str__(self) -> str:
        return self.message


DELIVERY_ERROR_MAX_LENGTH = 500


class NotificationDelivery(models.Model):
    """One notice sent on one channel (email, Web Push): its attempts so far, the last error, and when
    the next attempt is due.  Written in the reminder's claim, beside its Notification, for each channel
    the user wants (tasks_app.services.deliveries); sent after commit by workers.deliver_notifications.

    pending → sending (claimed by one worker, FOR UPDATE SKIP LOCKED) → sent | pending again (a retryable
    error, with backoff) | failed (attempts ran out, or an error no retry can fix)."""

    class Channel(models.TextChoices):
        EMAIL = "email", "Email"
        PUSH = "push", "Web Push"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"

    notification = models.ForeignKey(Notification, on_delete=models.CASCADE, related_name="deliveries")
    # The notification's user, copied: the log is listed per user without a join.
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    channel = models.CharField(max_length=10, choices=Channel.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=DELIVERY_ERROR_MAX_LENGTH, blank=True, default="")
    # pending: when to try (again); sending: when the claiming worker's lease runs out.
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # A notice goes out once per channel, whatever the number of claims, jobs and workers.
            models.UniqueConstraint(fields=["notification", "channel"], name="notification_delivery_once"),
            models.CheckConstraint(condition=Q(channel__in=["email", "push"]), name="notification_delivery_channel_valid"),
            models.CheckConstraint(condition=Q(status__in=["pending", "sending", "sent", "failed"]),
                                   name="notification_delivery_status_valid"),
            models.CheckConstraint(condition=~Q(status__in=["pending", "sending"]) | Q(next_attempt_at__isnull=False),
                                   name="notification_delivery_pending_has_time"),
        ]
        indexes = [
            # The delivery scan: `status = 'pending' AND next_attempt_at <= now() ORDER BY next_attempt_at`
            # (services.deliveries.deliveries_claim_due).  Partial: only what is still to send.
            models.Index(fields=["next_attempt_at"], name="notif_delivery_due", condition=Q(status="pending")),
            # Leases of dead workers: `status = 'sending' AND next_attempt_at < now()` (same function).
            models.Index(fields=["next_attempt_at"], name="notif_delivery_sending", condition=Q(status="sending")),
            # GET /api/notifications/deliveries and the settings page: one user's, newest first.
            models.Index(fields=["user", "-created_at", "-id"], name="notif_delivery_user_log"),
        ]

    def __str__(self) -> str:
        return f"{self.channel} of notification {self.notification_id} ({self.status})"


WEBHOOK_URL_MAX_LENGTH = 2000


class WebhookEndpoint(models.Model):
    """A user's HTTPS endpoint that hears about their task events (tasks_app.webhooks)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="webhook_endpoints")
    url = models.CharField(max_length=WEBHOOK_URL_MAX_LENGTH)
    description = models.CharField(max_length=200, blank=True, default="")
    # Event types to send ("todo.task.created", …); empty: every type.
    event_types = ArrayField(models.CharField(max_length=64), blank=True, default=list, size=20)
    secret = models.CharField(max_length=100)
    # After a rotation the old secret still signs (a second signature) until this time, so a
    # receiver can switch over without losing a delivery.
    previous_secret = models.CharField(max_length=100, blank=True, default="")
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    is_active = models.BooleanField(default=True)
    disabled_reason = models.CharField(max_length=300, blank=True, default="")
    consecutive_failures = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["user", "is_active"], name="webhook_endpoint_user")]

    def __str__(self) -> str:
        return self.url


class WebhookDelivery(models.Model):
    """One event for one endpoint: its attempts so far and when the next one is due."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"  # no more attempts: a 4xx, or the attempts ran out

    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    event_id = models.UUIDField(help_text="The outbox event's id; also the webhook-id header.")
    event_type = models.CharField(max_length=64)
    payload = models.JSONField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # A worker that claims a delivery holds it until then; a crashed worker's claim runs out.
    leased_until = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True, default="")
    last_response_ms = models.PositiveIntegerField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # An event is delivered to an endpoint once, however often the job that creates it runs.
            models.UniqueConstraint(fields=["endpoint", "event_id"], name="webhook_delivery_once"),
        ]
        indexes = [
            # The delivery scan: due pending rows only, oldest due first.
            models.Index(fields=["next_attempt_at"], name="webhook_delivery_due",
                         condition=Q(status="pending")),
            models.Index(fields=["endpoint", "-created_at"], name="webhook_delivery_log"),
            # Retention: finished deliveries, oldest first (tasks_app.services.retention).
            models.Index(fields=["created_at"], name="webhook_delivery_finished", condition=~Q(status="pending")),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} → {self.endpoint_id} ({self.status})"


class WeekStart(models.IntegerChoices):
    # ISO weekday numbers, as datetime.isoweekday() gives them.
    MONDAY = 1, "Monday"
    SATURDAY = 6, "Saturday"
    SUNDAY = 7, "Sunday"


# The seed's and the chat's lead time for "with a reminder" said without minutes.
DEFAULT_REMINDER_MINUTES = 60
TIMEZONE_MAX_LENGTH = 64  # the longest IANA name today is 32 characters


class Profile(models.Model):
    """A user's preferences: the zone their naive times and recurrences are read in, and how they
    like to be reminded.  Created on sign-up, or on first write for users from before it
    (tasks_app.services.profiles); a user without one reads as the defaults."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile")
    # An IANA name ("Europe/Berlin"), checked against zoneinfo when written (tasks_app.cleaning.clean_timezone).
    timezone = models.CharField(max_length=TIMEZONE_MAX_LENGTH)
    # Lead time for a reminder asked for without minutes ("with a reminder"); null: at the due time.
    default_reminder_minutes = models.PositiveIntegerField(null=True, blank=True, default=DEFAULT_REMINDER_MINUTES)
    # Local times in `timezone`; a window may wrap midnight (22:00–07:00).  Both or neither.
    quiet_hours_start = models.TimeField(null=True, blank=True)
    quiet_hours_end = models.TimeField(null=True, blank=True)
    week_start = models.PositiveSmallIntegerField(choices=WeekStart.choices, default=WeekStart.MONDAY)
    # Reminders by email too (to the user's address).  Off until the user turns it on: nobody gives an
    # address at sign-up, and mail nobody asked for is spam (tasks_app.channels.email).
    email_reminders = models.BooleanField(default=False, db_default=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=~Q(timezone=""), name="profile_timezone_not_empty"),
            models.CheckConstraint(
                condition=Q(default_reminder_minutes__isnull=True)
                | Q(default_reminder_minutes__gte=0, default_reminder_minutes__lte=MAX_REMINDER_MINUTES),
                name="profile_default_reminder_in_range",
            ),
            models.CheckConstraint(
                condition=Q(quiet_hours_start__isnull=True, quiet_hours_end__isnull=True)
                | Q(quiet_hours_start__isnull=False, quiet_hours_end__isnull=False),
                name="profile_quiet_hours_both_or_neither",
            ),
            models.CheckConstraint(condition=Q(week_start__in=WeekStart.values), name="profile_week_start_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.user} ({self.timezone})"


IDEMPOTENCY_KEY_MAX_LENGTH = 255


class IdempotencyKey(models.Model):
    """A write sent with an Idempotency-Key, and its first answer, replayed to a retry.

    The row is inserted, under the unique (user, key) index, in the same transaction as the
    write it guards, and its answer is filled in before that transaction commits: a concurrent
    duplicate waits on the index until then, and finds the answer to replay (or, if the write
    failed and rolled back, no row, and goes ahead itself).  Only answered writes are ever seen.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=IDEMPOTENCY_KEY_MAX_LENGTH)
    # SHA-256 of what was asked (the endpoint or tool and the request body): the same key with
    # another request is refused rather than answered with the wrong task.
    fingerprint = models.CharField(max_length=64)
    scope = models.CharField(max_length=100, help_text="The endpoint or MCP tool the key was used with.")
    status_code = models.PositiveSmallIntegerField(null=True)
    response_body = models.JSONField(null=True)
    response_headers = models.JSONField(default=dict)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # The one-write-per-key invariant: a duplicate's INSERT waits on this index.
            models.UniqueConstraint(fields=["user", "key"], name="idempotency_key_once_per_user"),
        ]
        indexes = [
            # Retention: `created_at < now() - IDEMPOTENCY_KEY_TTL_HOURS ORDER BY created_at LIMIT n`
            # (tasks_app.services.retention.idempotency_keys_prune).
            models.Index(fields=["created_at"], name="idempotency_created"),
        ]

    def __str__(self) -> str:
        return f"{self.key} ({self.scope}, {self.user})"


class CalendarFeed(models.Model):
    """A user's secret iCalendar feed URL (tasks_app.calendar_feed): whoever holds the URL reads the
    user's open dated tasks without signing in, so the URL is the credential.

    The token is never stored: it is `selector` (public, unique, finds the row) followed by an HMAC
    of the row's random `seed` under the server's SECRET_KEY, recomputed to show the URL to its owner
    and compared in constant time when presented.  A leaked database alone does not give a working
    URL.  Rotating replaces both; turning the feed off deletes the row.  One feed per user."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="calendar_feed")
    selector = models.CharField(max_length=16, unique=True)
    seed = models.CharField(max_length=64)
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(selector__regex=r"^[A-Za-z0-9]{16}$"),
                                   name="calendar_feed_selector_shape"),
            models.CheckConstraint(condition=Q(seed__regex=r"^[0-9a-f]{64}$"), name="calendar_feed_seed_shape"),
        ]

    def __str__(self) -> str:
        return f"calendar feed of {self.user} ({self.selector[:4]}…)"


class Change(models.Model):
    """One change a user made to one task, with the task as it was before and after: what "undo"
    reverts (tasks_app.services.changes).  Written in the same transaction as the change.

    The changes of one action (a chat message, a bulk call) share a `group` and are undone together.
    Kept for UNDO_RETENTION_DAYS and at most UNDO_HISTORY_PER_USER per user (the retention job);
    older ones can no longer be undone.  A deleted task lives on here, in `before`, until then."""

    class Kind(models.TextChoices):
        CREATED = "created", "created"
        UPDATED = "updated", "updated"
        COMPLETED = "completed", "completed"
        REOPENED = "reopened", "reopened"
        DELETED = "deleted", "deleted"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    group = models.UUIDField()
    # Not a foreign key: the change outlives the task it deleted (and restores it with this id).
    task_id = models.BigIntegerField()
    kind = models.CharField(max_length=10, choices=Kind.choices)
    # The task's whole state (services.changes.task_state); null before a creation, after a deletion.
    before = models.JSONField(null=True)
    after = models.JSONField(null=True)
    created_at = models.DateTimeField()
    undone_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=["created", "updated", "completed", "reopened", "deleted"]),
                                   name="change_kind_valid"),
            models.CheckConstraint(condition=Q(kind="created") | Q(before__isnull=False), name="change_before_known"),
            models.CheckConstraint(condition=Q(kind="deleted") | Q(after__isnull=False), name="change_after_known"),
        ]
        indexes = [
            # Undo: `user_id = %s AND undone_at IS NULL AND created_at >= window ORDER BY id DESC` — the
            # user's latest changes still to undo; partial, so undone history costs nothing.
            models.Index(fields=["user", "-id"], name="change_user_undoable", condition=Q(undone_at__isnull=True)),
            # Undo by group: every change of the chosen actions.
            models.Index(fields=["user", "group"], name="change_user_group"),
            # Retention: `created_at < now() - UNDO_RETENTION_DAYS ORDER BY created_at LIMIT n`.
            models.Index(fields=["created_at"], name="change_created"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} task {self.task_id} ({self.user_id})"


PUSH_ENDPOINT_MAX_LENGTH = 1024  # push services' endpoints are 150–500 characters today
PUSH_USER_AGENT_MAX_LENGTH = 200


class PushSubscription(models.Model):
    """A browser's Web Push subscription (its PushSubscription JSON): where to POST a user's
    notices and the keys to encrypt them for that browser (RFC 8291).  tasks_app.push."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="push_subscriptions")
    # An https URL on a known push service (PUSH_ENDPOINT_HOSTS); a capability URL, not shown to others.
    endpoint = models.CharField(max_length=PUSH_ENDPOINT_MAX_LENGTH)
    # The browser's P-256 public key (65 bytes, uncompressed point) and auth secret (16 bytes), base64url
    # without padding, as the browser sends them.
    p256dh = models.CharField(max_length=87)
    auth = models.CharField(max_length=22)
    user_agent = models.CharField(max_length=PUSH_USER_AGENT_MAX_LENGTH, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    last_success_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            # A browser's subscription belongs to whoever signed in there last: one row per endpoint
            # (stronger than unique per user and endpoint, which would let a shared browser receive
            # the notices of everyone who ever enabled push in it).  Also the upsert's conflict target.
            models.UniqueConstraint(fields=["endpoint"], name="push_subscription_endpoint_once"),
            models.CheckConstraint(condition=Q(p256dh__regex=r"^[A-Za-z0-9_-]{87}$"), name="push_subscription_p256dh_shape"),
            models.CheckConstraint(condition=Q(auth__regex=r"^[A-Za-z0-9_-]{22}$"), name="push_subscription_auth_shape"),
            models.CheckConstraint(condition=Q(endpoint__startswith="https://") | Q(endpoint__startswith="http://"),
                                   name="push_subscription_endpoint_http"),
        ]
        # channels.push.wanted, the delivery and the listing (`WHERE user_id = %s`) use the foreign key's index.

    def __str__(self) -> str:
        return f"push subscription of {self.user} ({self.endpoint[:40]}…)"


class VapidKey(models.Model):
    """The server's VAPID key pair when none is configured (tasks_app.push.vapid): generated once,
    shared by every web and worker process through the database.  The private key is stored
    encrypted (AES-GCM) under a key derived from SECRET_KEY, so a leaked database alone cannot sign
    pushes to the users' browsers.  One row (the constraint makes concurrent first runs agree)."""

    singleton = models.BooleanField(default=True, unique=True)
    public_key = models.CharField(max_length=87)  # base64url of the uncompressed P-256 point
    private_key_encrypted = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(singleton=True), name="vapid_key_single_row")]

    def __str__(self) -> str:
        return f"VAPID key {self.public_key[:12]}…"
