from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower

MAX_TAGS_PER_TASK = 10
MAX_REMINDER_MINUTES = 40320  # four weeks
TITLE_MAX_LENGTH = 200
TAG_MAX_LENGTH = 50


class Priority(models.TextChoices):
    P1 = "P1", "P1 – critical"
    P2 = "P2", "P2 – high"
    P3 = "P3", "P3 – normal"
    P4 = "P4", "P4 – low"


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
    reminder_minutes_before = models.PositiveIntegerField(null=True, blank=True)
    reminder_sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # The default list: one user's tasks, newest first.
            models.Index(fields=["user", "-created_at", "-id"], name="task_user_created"),
            # Lists filtered by completion and ordered by due date ("what's next").
            models.Index(fields=["user", "completed", "due_at", "id"], name="task_user_open_due"),
        ]
        constraints = [
            models.CheckConstraint(condition=~Q(title=""), name="task_title_not_empty"),
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


class ApiToken(models.Model):
    """A bearer token for the REST API and MCP.  Only its SHA-256 is stored:
    a leaked database does not leak working tokens."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100, blank=True, default="")
    key_hash = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=12, help_text="The first characters, to tell tokens apart.")
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"
