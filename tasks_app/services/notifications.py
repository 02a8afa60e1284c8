"""Reminders and the notifications they leave: claiming due reminders, marking them read.

A reminder is claimed once, whatever the number of beats and workers scanning: the
claim marks the task's reminder sent, stores a Notification, queues its deliveries on the
channels its user wants (email; services.deliveries) and records a todo.reminder.due event
in one transaction, over rows locked with SKIP LOCKED.

Two callers claim: the beat scan (every REMINDER_SCAN_INTERVAL, over the partial index
task_reminder_pending) and the precise job that Celery runs at a reminder's own time
(workers.fire_reminders, scheduled with an `eta` for the reminders coming up before the next
scan).  Both go through the same claim, so whichever runs first sends it and the other finds
nothing; a task changed, snoozed or completed in between is re-checked under the row lock.

Quiet hours: a reminder due while its user's quiet hours run (Profile.quiet_hours_start/end,
local time in the profile's zone, possibly across midnight) is not sent; the claim defers it
to the end of the window by setting snoozed_until there.  The remind_at trigger then moves
remind_at to that time, so the deferred reminder leaves the scan's index range until the
window ends and comes back through the same index (no per-scan check of profiles, no scan
over every deferred row); a new due date or lead time drops the deferral as it drops a snooze.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from .. import events
from ..cleaning import clean_whole_number
from ..models import MAX_SNOOZE_MINUTES, Notification, Profile, Task
from .deliveries import deliveries_create


def _pending_reminders():
    """The claim's conditions (and the partial index task_reminder_pending's): armed, not sent, not completed.
    A deleted task is gone with its row."""
    return Task.objects.filter(reminder_sent_at__isnull=True, completed=False, remind_at__isnull=False)


def reminders_claim_due(*, now: datetime | None = None, limit: int = 500,
                        task_ids: Iterable[int] | None = None) -> list[Notification]:
    """Claim tasks whose reminder time has passed: mark them sent, store a
    Notification and a `todo.reminder.due` event, all in one transaction.

    `task_ids`: only these tasks (the precise job's claim); otherwise the `limit` earliest due.
    A reminder due inside its user's quiet hours is deferred to their end instead (module docstring).

    FOR UPDATE SKIP LOCKED: concurrent claims (two beats, two workers, a scan and a precise job)
    split the rows between them and never claim one twice.
    """
    now = now or timezone.now()
    with transaction.atomic():
        due = _pending_reminders().filter(remind_at__lte=now)
        if task_ids is not None:
            task_ids = list(task_ids)
            due = due.filter(pk__in=task_ids)
            limit = len(task_ids)
        # Tags prefetched: each event's task snapshot lists them (one query here, not one per task).
        due = list(due.select_for_update(skip_locked=True).order_by("remind_at").prefetch_related("tags")[:limit])
        quiet_until = _quiet_hours_ends(user_ids={task.user_id for task in due}, now=now)
        to_send = []
        for task in due:
            if quiet_until.get(task.user_id) is not None:
                # Deferred, not sent: the trigger moves remind_at to the end of the window.
                task.snoozed_until = quiet_until[task.user_id]
                task.save(update_fields=["snoozed_until", "updated_at"])
            else:
                to_send.append(task)
        if not to_send:
            return []
        # A busy minute claims thousands: the rows are marked, the notices and the events written in a
        # few statements, not three per reminder; still one event (outbox row) per reminder.
        written = timezone.now()  # updated_at is when the row was written, whatever `now` the claim was asked for
        snoozed_ids = [task.pk for task in to_send if task.snoozed_until is not None]
        plain_ids = [task.pk for task in to_send if task.snoozed_until is None]
        # snoozed_until only where set: writing it runs the remind_at trigger, which the plain claim needs not.
        if plain_ids:
            Task.objects.filter(pk__in=plain_ids).update(reminder_sent_at=now, updated_at=written)
        if snoozed_ids:
            # A snooze (or quiet-hours deferral) is used up when it fires.
            Task.objects.filter(pk__in=snoozed_ids).update(reminder_sent_at=now, snoozed_until=None, updated_at=written)
        notifications = Notification.objects.bulk_create(
            Notification(user_id=task.user_id, task=task, kind=Notification.Kind.REMINDER,
                         message=f"Reminder: {task.title} is due {_when(task, now)}"[:300], due_at=task.due_at)
            for task in to_send)
        # Email (and other channels the user wants): queued here, in the claim's transaction, sent after commit.
        deliveries_create(notifications=notifications, now=written)
        for task in to_send:
            task.reminder_sent_at, task.updated_at = now, written
            task.snoozed_until = None
        # One INSERT for the claim's outbox rows (events.record_many), still one event per reminder.
        events.record_many(events.REMINDER_DUE, [
            (task, {"notification_id": notification.pk, "remind_at": task.remind_at.isoformat(),
                    "message": notification.message})
            for task, notification in zip(to_send, notifications)])
        return notifications


def _when(task: Task, now: datetime) -> str:
    """"in 30 min" (the lead time), or for a snoozed or deferred reminder how far the due time is from now."""
    if task.snoozed_until is not None:
        return _due_in(task, now)
    return "now" if task.reminder_minutes_before == 0 else f"in {task.reminder_minutes_before} min"


def reminders_coming_up(*, now: datetime, until: datetime, task_ids: Iterable[int] | None = None,
                        limit: int = 20000) -> list[tuple[int, datetime]]:
    """(task id, remind_at) of the reminders to send after `now` and up to `until`, earliest first:
    what the precise scheduler arms with an `eta`.  A range on the same partial index as the claim."""
    coming = _pending_reminders().filter(remind_at__gt=now, remind_at__lte=until)
    if task_ids is not None:
        coming = coming.filter(pk__in=list(task_ids))
    return list(coming.order_by("remind_at").values_list("pk", "remind_at")[:limit])


def _quiet_hours_ends(*, user_ids: set[int], now: datetime) -> dict[int, datetime | None]:
    """For each user whose quiet hours are running at `now`: when they end (aware, absolute)."""
    if not user_ids:
        return {}
    profiles = Profile.objects.filter(user_id__in=user_ids, quiet_hours_start__isnull=False,
                                      quiet_hours_end__isnull=False).only(
        "user_id", "timezone", "quiet_hours_start", "quiet_hours_end")
    return {profile.user_id: quiet_hours_end(now=now, zone=_zone(profile.timezone), start=profile.quiet_hours_start,
                                             end=profile.quiet_hours_end)
            for profile in profiles}


def _zone(name: str) -> tzinfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):  # a zone the installed tz database no longer has
        return timezone.get_default_timezone()


def quiet_hours_end(*, now: datetime, zone: tzinfo, start: time, end: time) -> datetime | None:
    """When the quiet hours [start, end) running at `now` end, or None if they are not running.

    Local wall-clock times in `zone`; start > end wraps midnight (22:00–07:00); start == end is
    no quiet hours at all (an empty window, not a whole day: a whole day would never remind)."""
    local = now.astimezone(zone)
    clock = local.time().replace(tzinfo=None)
    if start == end:
        return None
    if start < end:
        inside, end_day = start <= clock < end, local.date()
    else:
        inside = clock >= start or clock < end
        end_day = local.date() if clock < end else local.date() + timedelta(days=1)
    if not inside:
        return None
    return _local_to_utc(end_day, end, zone)


def _local_to_utc(day: date, clock: time, zone: tzinfo) -> datetime:
    """`day` at `clock` in `zone`, as an absolute time.  A clock time skipped by a DST jump
    (02:30 on the spring-forward night) is read as the same time before the jump (fold=0),
    which lands just after it: the quiet hours end at most an hour late, never early."""
    return datetime.combine(day, clock, tzinfo=zone).astimezone(timezone.get_fixed_timezone(0))


def _due_in(task: Task, now: datetime) -> str:
    """When a snoozed reminder's task is due, from `now`: "in 20 min", "now", "20 min ago"."""
    minutes = round((task.due_at - now).total_seconds() / 60)
    return "now" if minutes == 0 else f"in {minutes} min" if minutes > 0 else f"{-minutes} min ago"


@transaction.atomic
def notification_snooze(*, user, notification_id: int, minutes: Any) -> tuple[Notification, Task]:
    """Snooze a reminder's notice: it is marked read and its task's reminder fires again `minutes`
    (1–MAX_SNOOZE_MINUTES) from now, through the same scan and claim as any reminder.  Changing the
    task's due date or lead time meanwhile drops the snooze (the remind_at trigger); completing the task
    means it never fires.  Notification.DoesNotExist for another user's notification; ValidationError
    when there is nothing to re-arm (the task was deleted or completed, or has no reminder any more)."""
    minutes = clean_whole_number("minutes", minutes, low=1, high=MAX_SNOOZE_MINUTES, unit="minutes")
    notification = Notification.objects.select_for_update().get(pk=notification_id, user=user)
    if notification.task_id is None:
        raise ValidationError({"notification": ["its task was deleted: there is no reminder to snooze"]})
    task = Task.objects.select_for_update().get(pk=notification.task_id)
    if task.completed:
        raise ValidationError({"notification": ["its task is completed: there is no reminder to snooze"]})
    if task.due_at is None or task.reminder_minutes_before is None:
        raise ValidationError({"notification": ["its task has no reminder any more: nothing to snooze"]})
    now = timezone.now()
    task.snoozed_until = now + timedelta(minutes=minutes)
    task.reminder_sent_at = None
    # The trigger sets remind_at from snoozed_until; refresh to read what it stored.
    task.save(update_fields=["snoozed_until", "reminder_sent_at", "updated_at"])
    task.refresh_from_db(fields=["remind_at", "snoozed_until"])
    if notification.read_at is None:
        notification.read_at = now
        notification.save(update_fields=["read_at"])
    return notification, task


def notification_mark_read(*, user, notification_id: int) -> Notification:
    notification = Notification.objects.get(pk=notification_id, user=user)
    if notification.read_at is None:
        notification.read_at = timezone.now()
        notification.save(update_fields=["read_at"])
    return notification


def notifications_mark_all_read(*, user) -> int:
    return Notification.objects.filter(user=user, read_at__isnull=True).update(read_at=timezone.now())
