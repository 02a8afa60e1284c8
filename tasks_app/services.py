"""Every write to tasks, tags, accounts and tokens goes through these functions.

The REST API, the MCP tools, the chat assistant, the admin and the Celery jobs
call them; none of them writes these models directly.  Bad input raises
django.core.exceptions.ValidationError with a message per field.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from .models import MAX_REMINDER_MINUTES, MAX_TAGS_PER_TASK, TAG_MAX_LENGTH, ApiToken, Priority, Tag, Task
from .recurrence import InvalidRecurrence, normalize_rrule

User = get_user_model()

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
) -> Task:
    task = Task(
        user=user,
        title=_clean_title(title),
        description=(description or "").strip(),
        priority=_clean_priority(priority),
        due_at=_clean_due_at(due_at, user),
        recurrence=_clean_recurrence(recurrence),
        reminder_minutes_before=_clean_reminder(reminder_minutes_before),
    )
    tag_objects = _tags_for(user, tags)
    task.full_clean(exclude=["user"])
    task.save()
    task.tags.set(tag_objects)
    return task


@transaction.atomic
def task_update(*, task: Task, **changes: Any) -> Task:
    """Apply `changes` (a subset of UPDATABLE_FIELDS; None clears an optional field)."""
    unknown = set(changes) - set(UPDATABLE_FIELDS)
    if unknown:
        raise ValidationError({name: ["cannot be changed"] for name in sorted(unknown)})
    task = Task.objects.select_for_update().get(pk=task.pk)
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
    if {"due_at", "reminder_minutes_before"} & set(changes):
        # A new due date or lead time is a new reminder: arm it again.
        task.reminder_sent_at = None
    task.full_clean(exclude=["user"])
    task.save()
    if new_tags is not None:
        task.tags.set(new_tags)
    return task


@transaction.atomic
def task_complete(*, task: Task) -> Task:
    task = Task.objects.select_for_update().get(pk=task.pk)
    if not task.completed:
        task.completed = True
        task.completed_at = timezone.now()
        task.save(update_fields=["completed", "completed_at", "updated_at"])
    return task


@transaction.atomic
def task_reopen(*, task: Task) -> Task:
    task = Task.objects.select_for_update().get(pk=task.pk)
    if task.completed:
        task.completed = False
        task.completed_at = None
        task.save(update_fields=["completed", "completed_at", "updated_at"])
    return task


@transaction.atomic
def task_delete(*, task: Task) -> None:
    Task.objects.filter(pk=task.pk).delete()


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
