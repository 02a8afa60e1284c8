"""Every write to tasks, tags, accounts and tokens goes through these functions.

The REST API, the MCP tools, the chat assistant, the admin and the Celery jobs
call them; none of them writes these models directly.  Bad input raises
django.core.exceptions.ValidationError with a message per field.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
from contextlib import contextmanager
from collections.abc import Iterable
from datetime import datetime
from datetime import timezone as dt_timezone
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from . import events
from .models import (MAX_REMINDER_MINUTES, MAX_TAGS_PER_TASK, TAG_MAX_LENGTH, ApiToken, AuditLog, Notification,
                     OutboxEvent, Priority, Tag, Task)
from .recurrence import InvalidRecurrence, normalize_rrule, parse_rrule
from .signals import task_completed

User = get_user_model()
audit_logger = logging.getLogger("todo.audit")

# full_clean checks field types and lengths; the check constraints are not re-run as
# queries (four round trips per write): the _clean_* functions below enforce the same rules, and
# the database enforces the constraints at INSERT/UPDATE anyway.
TASK_CLEAN_EXCLUDE = ["user", "previous_occurrence"]

# Fields a caller may change with task_update; the rest are derived.
UPDATABLE_FIELDS = ("title", "description", "priority", "tags", "due_at", "recurrence", "reminder_minutes_before")


# --------------------------------------------------------------------------- input cleaning


def user_timezone(user) -> Any:
    """The zone in which a user's naive times and recurrences are read."""
    return timezone.get_default_timezone()


def _clean_title(title: Any) -> str:
    if not isinstance(title, str) or not title.strip():
        raise ValidationError({"title": ["must not be empty"]})
    return title.strip()


def _clean_priority(priority: Any) -> str:
    value = str(priority).strip().upper() if priority is not None else ""
    if value not in Priority.values:
        raise ValidationError({"priority": [f"{priority!r} is not one of {', '.join(Priority.values)}"]})
    return value


def _clean_due_at(due_at: datetime | None, user) -> datetime | None:
    if due_at is None:
        return None
    if not isinstance(due_at, datetime):
        raise ValidationError({"due_at": ["must be an ISO 8601 date-time"]})
    if timezone.is_naive(due_at):
        due_at = timezone.make_aware(due_at, user_timezone(user))
    return due_at


def _clean_recurrence(recurrence: str | None) -> str | None:
    try:
        return normalize_rrule(recurrence)
    except InvalidRecurrence as exc:
        raise ValidationError({"recurrence": [f"invalid recurrence rule: {exc}"]}) from None


def _clean_reminder(minutes: Any) -> int | None:
    if minutes is None:
        return None
    if isinstance(minutes, bool) or not isinstance(minutes, int) or not 0 <= minutes <= MAX_REMINDER_MINUTES:
        raise ValidationError(
            {"reminder_minutes_before": [f"must be a whole number of minutes from 0 to {MAX_REMINDER_MINUTES}"]}
        )
    return minutes


def clean_tag_names(names: Iterable[str]) -> list[str]:
    """Strip, drop a leading '#', and drop case-insensitive repeats (first spelling wins)."""
    cleaned: list[str] = []
    seen: set[str] = set()
    for raw in names:
        if not isinstance(raw, str):
            raise ValidationError({"tags": [f"{raw!r} is not a string"]})
        name = raw.strip().lstrip("#").strip()
        if not name:
            raise ValidationError({"tags": ["a tag name must not be empty"]})
        if len(name) > TAG_MAX_LENGTH:
            raise ValidationError({"tags": [f"tag {name[:20]!r}… is longer than {TAG_MAX_LENGTH} characters"]})
        if name.casefold() not in seen:
            seen.add(name.casefold())
            cleaned.append(name)
    if len(cleaned) > MAX_TAGS_PER_TASK:
        raise ValidationError({"tags": [f"at most {MAX_TAGS_PER_TASK} tags per task, got {len(cleaned)}"]})
    return cleaned


def _tags_for(user, names: Iterable[str]) -> list[Tag]:
    tags = []
    for name in clean_tag_names(names):
        # get_or_create retries the lookup if a concurrent request created it first.
        tag, _ = Tag.objects.get_or_create(user=user, name__iexact=name, defaults={"name": name})
        tags.append(tag)
    return tags


# --------------------------------------------------------------------------- tasks


@transaction.atomic
def task_create(
    *,
    user,
    title: str,
    description: str = "",
    priority: str = Priority.P3,
    tags: Iterable[str] = (),
    due_at: datetime | None = None,
    recurrence: str | None = None,
    reminder_minutes_before: int | None = None,
    previous_occurrence: Task | None = None,
) -> Task:
    task = Task(
        user=user,
        title=_clean_title(title),
        description=(description or "").strip(),
        priority=_clean_priority(priority),
        due_at=_clean_due_at(due_at, user),
        recurrence=_clean_recurrence(recurrence),
        reminder_minutes_before=_clean_reminder(reminder_minutes_before),
        previous_occurrence=previous_occurrence,
    )
    tag_objects = _tags_for(user, tags)
    task.full_clean(exclude=TASK_CLEAN_EXCLUDE, validate_constraints=False)
    task.save()
    task.tags.set(tag_objects)
    events.record(events.TASK_CREATED, task)
    return task


@transaction.atomic
def task_update(*, task: Task, **changes: Any) -> Task:
    """Apply `changes` (a subset of UPDATABLE_FIELDS; None clears an optional field)."""
    unknown = set(changes) - set(UPDATABLE_FIELDS)
    if unknown:
        raise ValidationError({name: ["cannot be changed"] for name in sorted(unknown)})
    task = Task.objects.select_for_update().get(pk=task.pk)
    before = events.task_snapshot(task)
    reminder_before = (task.due_at, task.reminder_minutes_before)
    cleaners = {
        "title": _clean_title,
        "description": lambda value: (value or "").strip(),
        "priority": _clean_priority,
        "due_at": lambda value: _clean_due_at(value, task.user),
        "recurrence": _clean_recurrence,
        "reminder_minutes_before": _clean_reminder,
    }
    for name, clean in cleaners.items():
        if name in changes:
            setattr(task, name, clean(changes[name]))
    new_tags = _tags_for(task.user, changes["tags"] or []) if "tags" in changes else None
    if (task.due_at, task.reminder_minutes_before) != reminder_before:
        # A new due date or lead time is a new reminder: arm it again.
        task.reminder_sent_at = None
    task.full_clean(exclude=TASK_CLEAN_EXCLUDE, validate_constraints=False)
    task.save()
    if new_tags is not None:
        task.tags.set(new_tags)
    after = events.task_snapshot(task)
    changed = {name: {"old": before[name], "new": after[name]} for name in UPDATABLE_FIELDS
               if before[name] != after[name]}
    if changed:
        events.record(events.TASK_UPDATED, task, snapshot=after, changes=changed)
    return task


@transaction.atomic
def task_complete(*, task: Task) -> Task:
    task = Task.objects.select_for_update().get(pk=task.pk)
    if not task.completed:
        task.completed = True
        task.completed_at = timezone.now()
        task.save(update_fields=["completed", "completed_at", "updated_at"])
        events.record(events.TASK_COMPLETED, task)
        task_completed.send(sender=Task, task=task)
    return task


@transaction.atomic
def task_reopen(*, task: Task) -> Task:
    task = Task.objects.select_for_update().get(pk=task.pk)
    if task.completed:
        task.completed = False
        task.completed_at = None
        task.save(update_fields=["completed", "completed_at", "updated_at"])
        events.record(events.TASK_REOPENED, task)
    return task


@transaction.atomic
def task_delete(*, task: Task) -> None:
    # Locked like every other write, so this task's events stay in commit order.
    task = Task.objects.select_for_update().get(pk=task.pk)
    snapshot = events.task_snapshot(task)
    task.delete()
    task.pk = snapshot["id"]
    events.record(events.TASK_DELETED, task, snapshot=snapshot)


def next_occurrence_due(task: Task, *, now: datetime | None = None) -> datetime | None:
    """When the occurrence after completed `task` is due, or None when the rule has ended.

    Counted from the previous due date (or the completion time when there was
    none), in the user's zone so that a 09:00 meeting stays at 09:00 across
    daylight-saving changes; occurrences already in the past are skipped.
    """
    now = now or timezone.now()
    zone = user_timezone(task.user)
    start = (task.due_at or task.completed_at or now).astimezone(zone)
    rule = parse_rrule(task.recurrence, start)
    following = rule.after(max(start, now.astimezone(zone)), inc=False)
    return following.astimezone(dt_timezone.utc) if following else None


def task_spawn_next_occurrence(*, task_id: int) -> Task | None:
    """Create the next occurrence of completed recurring task `task_id`, once.

    Safe to call any number of times, concurrently too: the unique
    previous_occurrence link makes the database refuse a second one.
    """
    with transaction.atomic():
        task = Task.objects.select_for_update().select_related("user").filter(pk=task_id).first()
        if task is None or not task.completed or not task.recurrence:
            return None
        existing = Task.objects.filter(previous_occurrence=task).first()
        if existing is not None:
            return existing
        due_at = next_occurrence_due(task)
        if due_at is None:
            return None
        try:
            with transaction.atomic():  # a savepoint: losing the race must not spoil the outer transaction
                return task_create(
                    user=task.user,
                    title=task.title,
                    description=task.description,
                    priority=task.priority,
                    tags=[tag.name for tag in task.tags.all()],
                    due_at=due_at,
                    recurrence=task.recurrence,
                    reminder_minutes_before=task.reminder_minutes_before,
                    previous_occurrence=task,
                )
        except IntegrityError:
            return Task.objects.filter(previous_occurrence=task).first()


# --------------------------------------------------------------------------- reminders and notifications


def reminders_claim_due(*, now: datetime | None = None, limit: int = 500) -> list[Notification]:
    """Claim tasks whose reminder time has passed: mark them sent, store a
    Notification and a `todo.reminder.due` event, all in one transaction.

    FOR UPDATE SKIP LOCKED: concurrent scans (two beats, two workers) split the
    rows between them and never claim one twice.
    """
    now = now or timezone.now()
    with transaction.atomic():
        due = list(
            Task.objects.select_for_update(skip_locked=True)
            .filter(remind_at__lte=now, reminder_sent_at__isnull=True, completed=False, remind_at__isnull=False)
            .order_by("remind_at")[:limit]
        )
        notifications = []
        for task in due:
            task.reminder_sent_at = now
            task.save(update_fields=["reminder_sent_at", "updated_at"])
            when = "now" if task.reminder_minutes_before == 0 else f"in {task.reminder_minutes_before} min"
            notification = Notification.objects.create(
                user_id=task.user_id, task=task, kind=Notification.Kind.REMINDER,
                message=f"Reminder: {task.title} is due {when}"[:300], due_at=task.due_at,
            )
            events.record(events.REMINDER_DUE, task, notification_id=notification.pk,
                          remind_at=task.remind_at.isoformat(), message=notification.message)
            notifications.append(notification)
        return notifications


def notification_mark_read(*, user, notification_id: int) -> Notification:
    notification = Notification.objects.get(pk=notification_id, user=user)
    if notification.read_at is None:
        notification.read_at = timezone.now()
        notification.save(update_fields=["read_at"])
    return notification


def notifications_mark_all_read(*, user) -> int:
    return Notification.objects.filter(user=user, read_at__isnull=True).update(read_at=timezone.now())


# --------------------------------------------------------------------------- audit


def audit_record(*, event_id) -> AuditLog | None:
    """The AuditLog row of outbox event `event_id` (a UUID), plus one JSON log line.

    Idempotent: a redelivered job finds the row and writes nothing.
    """
    event = OutboxEvent.objects.filter(event_id=event_id).first()
    if event is None:
        return None
    entry, created = AuditLog.objects.get_or_create(
        event_id=event.event_id,
        defaults={
            "type": event.type,
            "user_id": event.user_id if User.objects.filter(pk=event.user_id).exists() else None,
            "task_id": event.task_id,
            "data": event.payload["data"],
            "occurred_at": event.created_at,
        },
    )
    if created:
        audit_logger.info(json.dumps({
            "audit": True, "event_id": str(event.event_id), "type": event.type, "user_id": event.user_id,
            "task_id": event.task_id, "time": event.created_at.isoformat(),
            "changes": sorted(event.payload["data"].get("changes", {})),
        }))
    return entry


# --------------------------------------------------------------------------- accounts and tokens


@transaction.atomic
def user_register(*, username: str, password: str) -> AbstractBaseUser:
    if not settings.ALLOW_SIGNUP:
        raise PermissionError("sign-up is turned off on this server")
    username = (username or "").strip()
    user = User(username=username)
    try:
        user.full_clean(exclude=["password"])
    except ValidationError as exc:
        messages = exc.message_dict
        if any("already exists" in message for message in messages.get("username", [])):
            raise UsernameTaken(username) from None
        raise ValidationError({"username": messages.get("username", ["is not valid"])}) from None
    try:
        validate_password(password or "", user)
    except ValidationError as exc:
        raise ValidationError({"password": exc.messages}) from None
    user.set_password(password)
    user.save()
    return user


class UsernameTaken(Exception):
    def __init__(self, username: str):
        super().__init__(f"the username {username!r} is taken")


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def api_token_issue(*, user, name: str = "") -> str:
    """Create a token for `user` and return it; only its hash is kept."""
    token = "todo_" + secrets.token_urlsafe(32)
    ApiToken.objects.create(user=user, name=name[:100], key_hash=_hash_token(token), prefix=token[:12])
    return token


def api_token_authenticate(token: str):
    """The active user owning `token`, or None."""
    if not token:
        return None
    found = ApiToken.objects.select_related("user").filter(key_hash=_hash_token(token)).first()
    if found is None or not found.user.is_active:
        return None
    now = timezone.now()
    # Write at most once a minute per token: a busy client should not turn reads into writes.
    if found.last_used_at is None or (now - found.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=found.pk).update(last_used_at=now)
    return found.user


def demo_user_ensure(*, username: str = "demo", password: str = "demo") -> AbstractBaseUser:
    """The development login printed by `make run`; refused outside development."""
    if not settings.DEMO_USER_ENABLED:
        raise PermissionError("the demo user exists only in development (DJANGO_DEBUG=true)")
    user, created = User.objects.get_or_create(username=username)
    if created or not user.check_password(password):
        user.set_password(password)  # deliberately weak: development only
    # Staff in development so the admin can be explored with the same login.
    user.is_staff = user.is_superuser = True
    user.save()
    return user


# --------------------------------------------------------------------------- tags


def _tag_for_update(user, name: str) -> Tag:
    """The user's tag called `name` (any case, '#' optional), locked; Tag.DoesNotExist if none."""
    name = name.strip().lstrip("#").strip() if isinstance(name, str) else ""
    return Tag.objects.select_for_update().get(user=user, name__iexact=name)


@transaction.atomic
def tag_rename(*, user, name: str, new_name: str) -> Tag:
    tag = _tag_for_update(user, name)
    clashing = Tag.objects.filter(user=user, name__iexact=str(new_name).strip().lstrip("#").strip())
    with _recording_tag_changes([tag.pk, *clashing.values_list("pk", flat=True)]):
        return _tag_rename(user=user, tag=tag, new_name=new_name)


def _tag_rename(*, user, tag: Tag, new_name: str) -> Tag:
    """Rename the user's tag `name` to `new_name`, on all their tasks.

    When they already have another tag called `new_name` in any case, the two
    merge: its tasks and this tag's tasks end up with one tag, spelt `new_name`.
    The tasks' search vectors follow through database triggers."""
    try:
        [new_name] = clean_tag_names([new_name])
    except ValidationError as exc:
        raise ValidationError({"name": exc.message_dict["tags"]}) from None
    survivor = Tag.objects.select_for_update().filter(user=user, name__iexact=new_name).exclude(pk=tag.pk).first()
    if survivor is None:
        try:
            with transaction.atomic():
                Tag.objects.filter(pk=tag.pk).update(name=new_name)
        except IntegrityError:
            # Another request created `new_name` since the lookup above (the unique index noticed).
            survivor = Tag.objects.select_for_update().get(user=user, name__iexact=new_name)
        else:
            tag.name = new_name
            return tag
    links = Task.tags.through.objects
    task_ids = links.filter(tag_id=tag.pk).values_list("task_id", flat=True)
    # A task that had both tags keeps one link (the through table's unique constraint).
    links.bulk_create([links.model(task_id=task_id, tag_id=survivor.pk) for task_id in task_ids],
                      ignore_conflicts=True)
    tag.delete()
    if survivor.name != new_name:
        survivor.name = new_name
        survivor.save(update_fields=["name"])
    return survivor


@transaction.atomic
def tag_delete(*, user, name: str) -> None:
    """Remove the user's tag `name` (any case) from all their tasks and delete it."""
    tag = _tag_for_update(user, name)
    with _recording_tag_changes([tag.pk]):
        tag.delete()


@contextmanager
def _recording_tag_changes(tag_ids: list[int]):
    """Lock the tasks carrying these tags; after the change, record a
    todo.task.updated event for each task whose tag list changed."""
    links = Task.tags.through.objects.filter(tag_id__in=tag_ids).values("task_id")
    tasks = Task.objects.select_for_update().filter(pk__in=links).order_by("pk")
    before = {task.pk: events.task_snapshot(task)["tags"] for task in tasks.prefetch_related("tags")}
    yield
    for task in Task.objects.filter(pk__in=list(before)).prefetch_related("tags").order_by("pk"):
        after = events.task_snapshot(task)
        if after["tags"] != before[task.pk]:
            events.record(events.TASK_UPDATED, task, snapshot=after,
                          changes={"tags": {"old": before[task.pk], "new": after["tags"]}})


def outbox_retry_parked(*, event_ids: Iterable[int]) -> int:
    """Un-park outbox events the Kafka sink set aside as undeliverable (issue 11): its next run sends
    them again, with OUTBOX_MAX_ATTEMPTS fresh attempts.  Returns how many were parked."""
    return (OutboxEvent.objects.filter(pk__in=list(event_ids), parked_at__isnull=False, published_at__isnull=True)
            .update(parked_at=None, attempts=0))
